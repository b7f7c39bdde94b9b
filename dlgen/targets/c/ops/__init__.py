"""C lowerings, one module per op family. Importing this package registers them all."""
from . import (  # noqa: F401
    attention, conv, einsum, elementwise, gemm, glu, index, layout, loss, norm, pool, quant,
    reduce, resize, rnn, signal, tensor,
)
