"""--input-shape parsing and binding, shape inference, reinfer and require_static."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from dlgen.errors import BadInput, ShapeError
from dlgen.frontend import (bind_input_shapes, import_model, infer_shapes, parse_input_shapes,
                            reinfer, require_static)
from dlgen.ir import Graph, Node, Value


def mlp_model(batch="batch", hidden: int = 16) -> onnx.ModelProto:
    """input [batch, 784] -> MatMul(784 x hidden) -> Relu -> output [batch, hidden]."""
    w = numpy_helper.from_array(np.full((784, hidden), 0.01, np.float32), "fc.weight")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "fc.weight"], ["h"], name="fc"),
         helper.make_node("Relu", ["h"], ["output"], name="act")], "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 784])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, hidden])], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def input_dims(model: onnx.ModelProto, index: int = 0) -> list:
    dims = model.graph.input[index].type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in dims]


# -- parse_input_shapes ------------------------------------------------------------------------

def test_parse_valid_specs():
    assert parse_input_shapes(["input=1x3x224x224", "mask=1,128", " ids = 2 x 8 "]) == {
        "input": (1, 3, 224, 224), "mask": (1, 128), "ids": (2, 8)}
    assert parse_input_shapes(["x=[1,3]"]) == {"x": (1, 3)}
    assert parse_input_shapes([]) == {}


def test_parse_scalars():
    assert parse_input_shapes(["t=", "s=scalar"]) == {"t": (), "s": ()}


def test_parse_names_containing_equals_and_colons():
    assert parse_input_shapes(["a=b=2x2", "input:0=4"]) == {"a=b": (2, 2), "input:0": (4,)}


@pytest.mark.parametrize("spec", ["input", "=1x3", "x=1xa", "x=-1x3", "x=0x3", "x=1x", "x=1.5",
                                  "x:1x3"])
def test_parse_invalid_specs(spec):
    with pytest.raises(BadInput) as err:
        parse_input_shapes([spec])
    assert repr(spec) in str(err.value) or f"'{spec}'" in str(err.value)
    assert "NAME=1x3x224x224" in err.value.hint


def test_parse_conflicting_duplicates():
    assert parse_input_shapes(["x=1x2", "x=1x2"]) == {"x": (1, 2)}
    with pytest.raises(BadInput, match="already bound"):
        parse_input_shapes(["x=1x2", "x=2x2"])


# -- bind_input_shapes -------------------------------------------------------------------------

def test_binding_a_dynamic_batch():
    model = mlp_model()
    bound = bind_input_shapes(model, {"input": (8, 784)})
    assert input_dims(bound) == [8, 784]
    assert input_dims(model) == ["batch", 784]  # the original is untouched


def test_binding_in_place():
    model = mlp_model()
    assert bind_input_shapes(model, {"input": (2, 784)}, inplace=True) is model
    assert input_dims(model) == [2, 784]


def test_static_model_needs_no_binding():
    model = mlp_model(batch=1)
    assert input_dims(bind_input_shapes(model, None)) == [1, 784]


def test_unbound_dim_names_input_index_symbol_and_flag():
    with pytest.raises(ShapeError) as err:
        bind_input_shapes(mlp_model(), {})
    message = str(err.value)
    assert "'input'" in message
    assert "dim 0" in message
    assert "'batch'" in message
    assert "--input-shape input=Nx784" in err.value.hint


def test_unnamed_unknown_dim():
    with pytest.raises(ShapeError) as err:
        bind_input_shapes(mlp_model(batch=None), {})
    assert "dim 0 (unnamed)" in str(err.value)
    assert "--input-shape input=Nx784" in err.value.hint


def test_odd_input_names_are_escaped_in_the_message():
    model = mlp_model()
    model.graph.input[0].name = "in\nput\x1b"
    model.graph.node[0].input[0] = "in\nput\x1b"
    with pytest.raises(ShapeError) as err:
        bind_input_shapes(model, {})
    assert "'in\\nput\\x1b'" in str(err.value)
    assert str(err.value).isascii() and err.value.hint.isascii()


def test_shared_symbols_are_bound_everywhere():
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["c"])], "two",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 4]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, ["batch", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    bound = bind_input_shapes(model, {"a": (3, 4)})
    assert input_dims(bound, 0) == [3, 4] and input_dims(bound, 1) == [3, 4]


def test_rank_mismatch():
    with pytest.raises(ShapeError) as err:
        bind_input_shapes(mlp_model(), {"input": (1, 28, 28)})
    assert "rank 3" in str(err.value) and "rank 2" in str(err.value)
    assert "--input-shape input=Nx784" in err.value.hint


def test_binding_conflicts_with_a_fixed_dim():
    with pytest.raises(ShapeError) as err:
        bind_input_shapes(mlp_model(), {"input": (4, 100)})
    assert "fixes it at 784" in str(err.value)
    assert "dim 1" in str(err.value)
    assert "input=4x784" in err.value.hint


def test_unknown_input_name_lists_the_real_ones():
    with pytest.raises(BadInput) as err:
        bind_input_shapes(mlp_model(), {"images": (1, 784)})
    assert "'images'" in str(err.value)
    assert "'input'" in str(err.value)
    assert "batch" in str(err.value)


def test_initializers_listed_as_inputs_need_no_binding():
    model = mlp_model(batch=1)
    weight = model.graph.initializer[0]
    model.graph.input.append(helper.make_tensor_value_info(weight.name, TensorProto.FLOAT,
                                                           ["k", "n"]))
    bind_input_shapes(model, {})  # does not complain about 'fc.weight'
    with pytest.raises(BadInput):
        bind_input_shapes(model, {"fc.weight": (784, 16)})


def test_bound_input_above_the_size_limit():
    with pytest.raises(ShapeError) as err:
        bind_input_shapes(mlp_model(), {"input": (1 << 30, 784)})
    assert "'input'" in str(err.value) and "above the limit" in str(err.value)
    bind_input_shapes(mlp_model(), {"input": (4, 784)}, max_tensor_bytes=4 * 784 * 4)
    with pytest.raises(ShapeError):
        bind_input_shapes(mlp_model(), {"input": (4, 784)}, max_tensor_bytes=1000)


def test_unknown_rank_input_takes_the_given_shape():
    model = mlp_model(batch=1)
    model.graph.input[0].type.tensor_type.ClearField("shape")
    with pytest.raises(ShapeError, match="unknown rank"):
        bind_input_shapes(model, {})
    assert input_dims(bind_input_shapes(model, {"input": (1, 784)})) == [1, 784]


# -- infer_shapes ------------------------------------------------------------------------------

def value_shapes(model: onnx.ModelProto) -> dict:
    infos = list(model.graph.value_info) + list(model.graph.output)
    return {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in infos}


def test_infer_shapes_after_binding():
    model = infer_shapes(bind_input_shapes(mlp_model(), {"input": (4, 784)}))
    assert value_shapes(model) == {"h": [4, 16], "output": [4, 16]}


def test_infer_shapes_keeps_large_initializers_out_of_the_run():
    model = bind_input_shapes(mlp_model(hidden=64), {"input": (2, 784)})  # 200 KB weight
    inferred = infer_shapes(model)
    assert value_shapes(inferred) == {"h": [2, 64], "output": [2, 64]}
    assert [i.name for i in inferred.graph.input] == ["input"]
    np.testing.assert_array_equal(numpy_helper.to_array(inferred.graph.initializer[0]),
                                  numpy_helper.to_array(model.graph.initializer[0]))


def test_inference_error_names_the_node():
    model = mlp_model()
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "k"
    bound = bind_input_shapes(model, {"input": (2, 100)})
    with pytest.raises(ShapeError) as err:
        infer_shapes(bound)
    assert "MatMul" in str(err.value) and "fc" in str(err.value)
    assert "--input-shape" in err.value.hint


def test_declared_output_conflicting_with_inference():
    model = mlp_model(batch=1)
    model.graph.output[0].type.tensor_type.elem_type = TensorProto.INT64
    with pytest.raises(ShapeError, match="differs"):
        infer_shapes(model)


# -- import_model ------------------------------------------------------------------------------

def test_import_model_gives_a_static_graph(tmp_path):
    path = tmp_path / "mlp.onnx"
    onnx.save(mlp_model(), str(path))
    graph = import_model(path, input_shapes=parse_input_shapes(["input=3x784"]))
    assert isinstance(graph, Graph)
    assert graph.inputs == ["input"] and graph.outputs == ["output"]
    assert graph.values["h"].shape == (3, 16)
    assert graph.values["output"].dtype == np.float32
    assert graph.values["fc.weight"].data.shape == (784, 16)
    require_static(graph)


def test_import_model_without_shapes_fails_on_the_dynamic_batch():
    with pytest.raises(ShapeError) as err:
        import_model(mlp_model().SerializeToString())
    assert "--input-shape input=Nx784" in err.value.hint


# -- reinfer and require_static ----------------------------------------------------------------

def partial_graph() -> Graph:
    return Graph(
        nodes=[Node("Relu", ["x"], ["t"], name="relu"),
               Node("Transpose", ["t"], ["y"], {"perm": [1, 0]}, name="flip")],
        inputs=["x"], outputs=["y"],
        values={"x": Value("x", np.float32, (2, 3)), "t": Value("t", np.float32, None),
                "y": Value("y", None, None)},
        opset=17)


def test_reinfer_fills_missing_shapes_and_dtypes():
    graph = partial_graph()
    filled = reinfer(graph)
    assert filled.values["t"].shape == (2, 3)
    assert filled.values["y"].shape == (3, 2) and filled.values["y"].dtype == np.float32
    assert graph.values["y"].shape is None  # the input graph is untouched
    require_static(filled)


def test_reinfer_returns_complete_graphs_as_they_are():
    graph = reinfer(partial_graph())
    assert reinfer(graph) is graph


def test_require_static_names_values_and_their_nodes():
    with pytest.raises(ShapeError) as err:
        require_static(partial_graph())
    message = str(err.value)
    assert "'t'" in message and "node 'relu' (Relu)" in message
    assert "'y'" in message and "node 'flip' (Transpose)" in message
    assert "--input-shape" in err.value.hint


def test_require_static_mentions_custom_domains():
    graph = reinfer(partial_graph())
    graph.nodes.append(Node("Magic", ["y"], ["z"], name="m", domain="com.acme"))
    graph.values["z"] = Value("z", None, None)
    graph.outputs = ["z"]
    with pytest.raises(ShapeError) as err:
        require_static(graph)
    assert "com.acme::Magic" in str(err.value)
    assert "'com.acme'" in err.value.hint


def test_require_static_refuses_values_above_the_limit():
    graph = reinfer(partial_graph())
    with pytest.raises(ShapeError) as err:
        require_static(graph, max_tensor_bytes=20)
    assert "'x'" in str(err.value) and "24 bytes" in str(err.value)
