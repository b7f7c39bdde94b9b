"""C lowerings, one module per op family. Importing this package registers them all."""
from . import (  # noqa: F401
    attention, control, conv, deform, dynamic, einsum, elementwise, flex_attention, gemm, glu,
    index, layout, loss, norm, pool, quant, random, reduce, resize, rnn, signal, stateful, tensor,
)
