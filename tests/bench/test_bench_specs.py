"""Target specs of `dlgen bench -t`, devices, and their refusals."""
from __future__ import annotations

import pytest

from dlgen.bench.devices import HostDevice, get_device
from dlgen.bench.specs import parse_target_spec, parse_target_specs
from dlgen.errors import BadInput, TargetUnavailable


@pytest.mark.parametrize("text, name, kernels, threads, label", [
    ("c", "c", "portable", 1, "c"),
    ("c:kernels=cblas", "c", "cblas", 1, "c:kernels=cblas"),
    ("c:cblas", "c", "cblas", 1, "c:kernels=cblas"),
    ("c:threads=2", "c", "portable", 2, "c:threads=2"),
    ("c:kernels=cblas,threads=2", "c", "cblas", 2, "c:kernels=cblas,threads=2"),
    ("c:threads=1", "c", "portable", 1, "c"),
    ("onnxruntime", "onnxruntime", "portable", 1, "onnxruntime"),
    ("onnxruntime:cpu", "onnxruntime", "portable", 1, "onnxruntime"),
    ("ort:threads=2", "onnxruntime", "portable", 2, "onnxruntime:threads=2"),
])
def test_parse(text, name, kernels, threads, label):
    spec = parse_target_spec(text)
    assert (spec.name, spec.threads, spec.label) == (name, threads, label)
    if name == "c":
        assert spec.kernels == kernels
        assert spec.compile_options() == {"kernels": kernels, "threads": threads}
    else:
        assert spec.compile_options() == {"providers": ["cpu"]} and spec.provider == "cpu"


def test_global_threads_apply_unless_the_spec_sets_them():
    assert parse_target_spec("c", threads=4).threads == 4
    assert parse_target_spec("onnxruntime", threads=4).label == "onnxruntime:threads=4"
    assert parse_target_spec("c:threads=2", threads=4).threads == 2


@pytest.mark.parametrize("text, error, needle", [
    ("onnxruntime:openvino", TargetUnavailable, "is not in the installed onnxruntime"),
    ("onnxruntime:cuda", TargetUnavailable, "is not in the installed onnxruntime"),
    ("onnxruntime:foo", BadInput, "unknown ONNX Runtime execution provider"),
    ("c:kernels=mkl", BadInput, "unknown kernels"),
    ("c:threads=0", BadInput, "threads must be a whole number >= 1"),
    ("c:threads=two", BadInput, "threads must be a whole number >= 1"),
    ("c:fast", BadInput, "has no option"),
    ("c:opt=3", BadInput, "has no option"),
    ("c:", BadInput, "empty option"),
    ("c:threads=2,", BadInput, "empty option"),
    ("tensorrt", TargetUnavailable, "not implemented"),
    ("tflite", BadInput, "unknown target"),
])
def test_refusals(text, error, needle):
    with pytest.raises(error) as info:
        parse_target_spec(text)
    assert needle in str(info.value)
    assert info.value.exit_code == 2 and info.value.hint


def test_same_configuration_twice_is_refused():
    with pytest.raises(BadInput, match="same configuration"):
        parse_target_specs(["c", "c:threads=1"])
    with pytest.raises(BadInput, match="no target"):
        parse_target_specs([])


def test_devices():
    from dlgen.bench.qemu import QemuDevice
    from dlgen.bench.ssh import SshDevice

    assert isinstance(get_device("host"), HostDevice)
    for word in ("qemu-aarch64", "qemu-arm"):
        dev = get_device(word)
        assert isinstance(dev, QemuDevice) and dev.emulated and dev.name == word
    ssh = get_device("ssh://pi@192.0.2.1:2222")
    assert isinstance(ssh, SshDevice) and not ssh.emulated
    assert (ssh.user, ssh.host, ssh.port, ssh.name) == ("pi", "192.0.2.1", 2222,
                                                         "ssh://pi@192.0.2.1:2222")
    assert get_device("ssh://board").name == "ssh://board"
    for bad in ("ssh://pi@", "ssh://pi@host/path", "ssh://pi:secret@host", "ssh://h:99999"):
        with pytest.raises(BadInput):
            get_device(bad)
    with pytest.raises(BadInput, match="unknown --device"):
        get_device("gpu0")
    with pytest.raises(BadInput, match="--cc"):
        get_device("host", cc="gcc")


def test_devices_refuse_other_targets():
    dev = get_device("qemu-arm")
    dev.check_spec(parse_target_spec("c:kernels=reference"))
    with pytest.raises(TargetUnavailable, match="only the C target"):
        dev.check_spec(parse_target_spec("onnxruntime"))
    with pytest.raises(TargetUnavailable, match="CBLAS"):
        dev.check_spec(parse_target_spec("c:kernels=cblas"))
    get_device("host").check_spec(parse_target_spec("onnxruntime"))
