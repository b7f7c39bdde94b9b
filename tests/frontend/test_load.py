"""load_model: every way a model file can be wrong gets a typed, specific error."""
from __future__ import annotations

import logging
import os
import tracemalloc

import numpy as np
import onnx
import onnx.version_converter
import pytest
from onnx import TensorProto, helper, numpy_helper

from dlgen.errors import BadInput, BadModel, ShapeError
from dlgen.frontend import load_model
from dlgen.frontend.load import declared_nbytes


# -- tiny models -------------------------------------------------------------------------------

def add_model(weight: np.ndarray | None = None, opset: int = 17,
              wname: str = "w") -> onnx.ModelProto:
    """y = x + w, x and w of shape [2, 3]."""
    w = np.arange(6, dtype=np.float32).reshape(2, 3) if weight is None else weight
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", wname], ["y"], name="add")], "add",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(w.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(w.shape))],
        [numpy_helper.from_array(w, wname)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def save_external(model: onnx.ModelProto, path, location: str = "add.data") -> None:
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
              location=location, size_threshold=0)


def set_location(path, location: str) -> None:
    """Rewrite every external tensor's location in the saved model at ``path``."""
    model = onnx.load(str(path), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    onnx.save(model, str(path))


# -- paths ---------------------------------------------------------------------------------------

def test_loads_a_valid_model_from_a_path(tmp_path):
    path = tmp_path / "add.onnx"
    onnx.save(add_model(), str(path))
    model = load_model(path)
    assert [n.op_type for n in model.graph.node] == ["Add"]
    model = load_model(str(path))
    assert model.graph.initializer[0].name == "w"


def test_missing_path(tmp_path):
    with pytest.raises(BadModel) as err:
        load_model(tmp_path / "nope.onnx")
    assert "no such file" in str(err.value)
    assert "nope.onnx" in str(err.value)
    assert err.value.hint


def test_missing_path_suggests_the_onnx_suffix(tmp_path):
    onnx.save(add_model(), str(tmp_path / "model.onnx"))
    with pytest.raises(BadModel) as err:
        load_model(tmp_path / "model")
    assert "model.onnx" in err.value.hint


def test_directory_points_at_the_onnx_file_inside(tmp_path):
    onnx.save(add_model(), str(tmp_path / "inner.onnx"))
    with pytest.raises(BadModel) as err:
        load_model(tmp_path)
    assert "directory" in str(err.value)
    assert "inner.onnx" in err.value.hint


def test_directory_with_manifest_is_named_an_artifact(tmp_path):
    (tmp_path / "dlgen.json").write_text("{}")
    with pytest.raises(BadModel) as err:
        load_model(tmp_path)
    assert "compiled dlgen artifact" in err.value.hint
    with pytest.raises(BadModel) as err:
        load_model(tmp_path / "dlgen.json")
    assert "manifest" in str(err.value)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    with pytest.raises(BadModel) as err:
        load_model(path)
    assert "empty" in str(err.value)
    assert "empty.onnx" in str(err.value)
    assert err.value.hint


@pytest.mark.parametrize("data", [b"hello world, not a model", bytes(range(256)) * 4,
                                  b"\xff" * 64])
def test_garbage_file(tmp_path, data):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(data)
    with pytest.raises(BadModel) as err:
        load_model(path)
    assert "not an ONNX model" in str(err.value)
    assert err.value.hint


def test_zip_file_is_recognized(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"PK\x03\x04" + b"\xff" * 60)
    with pytest.raises(BadModel) as err:
        load_model(path)
    assert "PyTorch" in err.value.hint


def test_truncated_model_at_every_length(tmp_path):
    data = add_model().SerializeToString()
    path = tmp_path / "cut.onnx"
    for cut in range(1, len(data)):
        path.write_bytes(data[:cut])
        with pytest.raises(BadModel) as err:
            load_model(path)
        assert "truncated" in str(err.value), cut


def test_model_without_graph_or_opset(tmp_path):
    with pytest.raises(BadModel) as err:
        load_model(onnx.ModelProto(ir_version=8).SerializeToString())
    assert "no graph" in str(err.value)


# -- bytes and in-memory models ----------------------------------------------------------------

def test_bytes_input():
    model = load_model(add_model().SerializeToString())
    assert model.graph.node[0].op_type == "Add"
    model = load_model(bytearray(add_model().SerializeToString()))
    assert model.graph.node[0].op_type == "Add"


def test_garbage_and_empty_bytes():
    with pytest.raises(BadModel, match="not an ONNX model"):
        load_model(b"\x08\x07garbage\xff\xff\xff")
    with pytest.raises(BadModel, match="empty"):
        load_model(b"")


def test_model_proto_input_is_not_modified():
    original = add_model(opset=11)
    before = original.SerializeToString()
    model = load_model(original)
    assert original.SerializeToString() == before
    assert model is not original


def test_other_source_types_are_refused():
    with pytest.raises(BadInput):
        load_model(42)


def test_external_data_in_bytes_mode_is_refused(tmp_path):
    save_external(add_model(), tmp_path / "add.onnx")
    data = (tmp_path / "add.onnx").read_bytes()
    with pytest.raises(BadModel) as err:
        load_model(data)
    assert "'w'" in str(err.value) and "add.data" in str(err.value)
    assert "in memory" in str(err.value)
    assert "save_as_external_data=False" in err.value.hint


# -- external data -----------------------------------------------------------------------------

def test_external_data_inside_the_folder_is_loaded(tmp_path):
    weight = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    save_external(add_model(weight), tmp_path / "add.onnx")
    assert (tmp_path / "add.data").exists()
    model = load_model(tmp_path / "add.onnx")
    tensor = model.graph.initializer[0]
    assert tensor.data_location == TensorProto.DEFAULT
    np.testing.assert_array_equal(numpy_helper.to_array(tensor), weight)


def test_external_data_in_a_subfolder_is_loaded(tmp_path):
    (tmp_path / "weights").mkdir()
    weight = np.full((2, 3), 7.5, np.float32)
    save_external(add_model(weight), tmp_path / "add.onnx", location="weights/add.data")
    model = load_model(tmp_path / "add.onnx")
    np.testing.assert_array_equal(numpy_helper.to_array(model.graph.initializer[0]), weight)


def test_external_data_outside_the_folder_is_refused(tmp_path):
    (tmp_path / "models").mkdir()
    save_external(add_model(), tmp_path / "models" / "add.onnx")
    os.replace(tmp_path / "models" / "add.data", tmp_path / "add.data")
    set_location(tmp_path / "models" / "add.onnx", "../add.data")
    with pytest.raises(BadModel) as err:
        load_model(tmp_path / "models" / "add.onnx")
    assert "'w'" in str(err.value)
    assert "'../add.data'" in str(err.value)
    assert "outside" in str(err.value)
    assert "move the data file next to the model" in err.value.hint


def test_absolute_external_location_is_refused(tmp_path):
    save_external(add_model(), tmp_path / "add.onnx")
    set_location(tmp_path / "add.onnx", str(tmp_path / "add.data"))
    with pytest.raises(BadModel) as err:
        load_model(tmp_path / "add.onnx")
    assert "absolute" in str(err.value)
    assert "'w'" in str(err.value)
    assert "move the data file" in err.value.hint


def test_symlink_pointing_outside_is_refused(tmp_path):
    (tmp_path / "models").mkdir()
    save_external(add_model(), tmp_path / "models" / "add.onnx")
    os.replace(tmp_path / "models" / "add.data", tmp_path / "secret.data")
    os.symlink(tmp_path / "secret.data", tmp_path / "models" / "add.data")
    with pytest.raises(BadModel) as err:
        load_model(tmp_path / "models" / "add.onnx")
    assert "outside" in str(err.value)
    assert "'add.data'" in str(err.value)


def test_symlink_inside_the_folder_is_refused_clearly(tmp_path):
    save_external(add_model(), tmp_path / "add.onnx")
    os.replace(tmp_path / "add.data", tmp_path / "real.data")
    os.symlink("real.data", tmp_path / "add.data")
    with pytest.raises(BadModel) as err:
        load_model(tmp_path / "add.onnx")
    assert "symbolic link" in str(err.value)
    assert "replace the link" in err.value.hint


def test_missing_external_file(tmp_path):
    save_external(add_model(), tmp_path / "add.onnx")
    os.remove(tmp_path / "add.data")
    with pytest.raises(BadModel) as err:
        load_model(tmp_path / "add.onnx")
    assert "missing" in str(err.value) and "'add.data'" in str(err.value)
    assert err.value.hint


def test_truncated_external_file(tmp_path):
    save_external(add_model(), tmp_path / "add.onnx")
    data = (tmp_path / "add.data").read_bytes()
    (tmp_path / "add.data").write_bytes(data[:10])
    with pytest.raises(BadModel) as err:
        load_model(tmp_path / "add.onnx")
    assert "too short" in str(err.value)


# -- sizes -------------------------------------------------------------------------------------

def huge_model(dims=(1 << 40,), name="huge") -> onnx.ModelProto:
    tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=list(dims))
    graph = helper.make_graph(
        [helper.make_node("Identity", [name], ["y"])], "huge", [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(dims))], [tensor])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_huge_declared_tensor_is_refused_without_allocating():
    data = huge_model().SerializeToString()
    tracemalloc.start()
    try:
        with pytest.raises(ShapeError) as err:
            load_model(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20
    assert "'huge'" in str(err.value)
    assert "4.0 TiB" in str(err.value)
    assert "max_tensor_bytes" in err.value.hint


def test_tensor_limit_is_configurable():
    model = add_model().SerializeToString()  # a 24-byte weight
    with pytest.raises(ShapeError, match="'w'"):
        load_model(model, max_tensor_bytes=16)
    assert load_model(model, max_tensor_bytes=24)


def test_huge_constant_attribute_is_refused():
    tensor = TensorProto(name="c", data_type=TensorProto.INT64, dims=[1 << 30, 1 << 10])
    graph = helper.make_graph(
        [helper.make_node("Constant", [], ["y"], name="const", value=tensor)], "g", [],
        [helper.make_tensor_value_info("y", TensorProto.INT64, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ShapeError) as err:
        load_model(model.SerializeToString())
    assert "'const'" in str(err.value) and "Constant" in str(err.value)


def test_negative_dims_are_refused():
    with pytest.raises(ShapeError, match="negative"):
        load_model(huge_model(dims=(2, -3)).SerializeToString())


def test_huge_external_length_is_refused_before_reading(tmp_path):
    save_external(add_model(), tmp_path / "add.onnx")
    model = onnx.load(str(tmp_path / "add.onnx"), load_external_data=False)
    for entry in model.graph.initializer[0].external_data:
        if entry.key == "length":
            entry.value = str(1 << 40)
    onnx.save(model, str(tmp_path / "add.onnx"))
    with pytest.raises(ShapeError, match="'w'"):
        load_model(tmp_path / "add.onnx")


def test_declared_nbytes_of_packed_types():
    assert declared_nbytes(TensorProto(data_type=TensorProto.FLOAT, dims=[2, 3])) == 24
    assert declared_nbytes(TensorProto(data_type=TensorProto.INT4, dims=[3])) == 2
    assert declared_nbytes(TensorProto(data_type=TensorProto.FLOAT, dims=[])) == 4


# -- checker, functions, opsets ----------------------------------------------------------------

def test_checker_failure_is_a_bad_model(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["t"], ["y"], name="second"),
         helper.make_node("Relu", ["x"], ["t"], name="first")], "unsorted",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(BadModel) as err:
        load_model(path)
    assert "ONNX checker" in str(err.value)
    assert "topologically sorted" in str(err.value)
    assert "bad.onnx" in str(err.value)
    assert "re-export" in err.value.hint


def test_checker_message_is_escaped():
    model = add_model(wname="w\n\x1b[2J")
    model.graph.node[0].op_type = "NoSuchOp\u202e"
    with pytest.raises(BadModel) as err:
        load_model(model.SerializeToString())
    assert str(err.value).isascii()
    assert "\x1b" not in str(err.value) and "\n" not in str(err.value)


def function_model() -> onnx.ModelProto:
    func = helper.make_function(
        "custom", "AddTwice", ["a", "b"], ["c"],
        [helper.make_node("Add", ["a", "b"], ["t"]), helper.make_node("Add", ["t", "b"], ["c"])],
        [helper.make_opsetid("", 17)])
    graph = helper.make_graph(
        [helper.make_node("AddTwice", ["x", "x"], ["y"], domain="custom", name="call")], "f",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    return helper.make_model(graph, functions=[func], opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("custom", 1)])


def test_local_functions_are_inlined():
    model = load_model(function_model().SerializeToString())
    assert len(model.functions) == 0
    assert [n.op_type for n in model.graph.node] == ["Add", "Add"]
    assert all(n.domain == "" for n in model.graph.node)


def squeeze_model_opset11() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Squeeze", ["x"], ["y"], axes=[0], name="sq")], "sq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])


def test_opset_11_is_converted_to_13():
    model = load_model(squeeze_model_opset11().SerializeToString())
    assert [o.version for o in model.opset_import if o.domain == ""] == [13]
    squeeze = [n for n in model.graph.node if n.op_type == "Squeeze"][0]
    assert len(squeeze.input) == 2  # axes became an input in opset 13
    assert not squeeze.attribute


def test_failed_opset_conversion_keeps_the_original(monkeypatch, caplog):
    def boom(model, version):
        raise RuntimeError("no adapter")

    monkeypatch.setattr(onnx.version_converter, "convert_version", boom)
    with caplog.at_level(logging.DEBUG, logger="dlgen.frontend.load"):
        model = load_model(squeeze_model_opset11().SerializeToString())
    assert [o.version for o in model.opset_import if o.domain == ""] == [11]
    assert "no adapter" in caplog.text


def test_recent_opsets_are_left_alone():
    model = load_model(add_model(opset=17).SerializeToString())
    assert [o.version for o in model.opset_import if o.domain == ""] == [17]
