"""ArcFace ONNX input normalisation follows InsightFace's ``ArcFaceONNX`` rule: a graph whose first
8 nodes include Sub/_minus and Mul/_mul (MXNet conversions) takes raw 0–255 pixels; any other
(PyTorch exports such as w600k_r50.onnx) takes (x − 127.5)/127.5. A hard-coded 127.5 would
normalise MXNet-converted models twice."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from avatar_eval.models.arcface import ArcFaceONNX, first_node_names, insightface_input_norm  # noqa: E402


def _tiny_model(path, normalise_inside: bool):
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array((rng.normal(size=(4, 3, 3, 3)) * 0.3).astype(np.float32), "w1"),
             numpy_helper.from_array((rng.normal(size=(4 * 56 * 56, 16)) * 0.02).astype(np.float32), "w2"),
             numpy_helper.from_array(rng.normal(size=(16,)).astype(np.float32), "b2")]
    nodes, x = [], "input.1"
    if normalise_inside:
        inits += [numpy_helper.from_array(np.array(127.5, np.float32), "m"),
                  numpy_helper.from_array(np.array(1 / 128, np.float32), "s")]
        nodes += [helper.make_node("Sub", [x, "m"], ["xs"], name="_minus0"),
                  helper.make_node("Mul", ["xs", "s"], ["xm"], name="_mul0")]
        x = "xm"
    nodes += [helper.make_node("Conv", [x, "w1"], ["c1"], strides=[2, 2], pads=[1, 1, 1, 1], name="Conv_0"),
              helper.make_node("Flatten", ["c1"], ["f"], name="Flatten_1"),
              helper.make_node("Gemm", ["f", "w2", "b2"], ["out"], name="Gemm_2")]
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["N", 3, 112, 112])],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 16])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return m


@pytest.mark.parametrize("inside", [False, True])
def test_node_names_and_normalisation_rule(tmp_path, inside):
    p = tmp_path / "arc.onnx"
    m = _tiny_model(p, inside)
    assert first_node_names(p) == [n.name for n in m.graph.node][:8]
    arc = ArcFaceONNX(p)
    assert (arc.input_mean, arc.input_std) == ((0.0, 1.0) if inside else (127.5, 127.5))
    # the network sees exactly what InsightFace's blobFromImages(…, 1/std, size, mean, swapRB) gives
    # an aligned BGR face: the RGB face minus mean, over std
    face = np.random.default_rng(1).integers(0, 256, (112, 112, 3), dtype=np.uint8)
    blob = ((face.astype(np.float32) - arc.input_mean) / arc.input_std).transpose(2, 0, 1)[None]
    want = arc.session.run(None, {"input.1": blob})[0][0]
    np.testing.assert_allclose(arc.embed([face])[0], want / np.linalg.norm(want), rtol=1e-5, atol=1e-6)


def test_rule_needs_both_sub_and_mul():
    assert insightface_input_norm(["Sub_0", "Conv_1"]) == (127.5, 127.5)
    assert insightface_input_norm(["Conv_0"] * 8 + ["Sub_9", "Mul_10"]) == (127.5, 127.5)  # only the first 8 count
    assert insightface_input_norm(["Sub_0", "Mul_1", "Conv_2"]) == (0.0, 1.0)
