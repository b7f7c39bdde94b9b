"""C lowerings, one module per op family. Importing this package registers them all."""
from . import conv, elementwise, gemm, pool, reduce, rnn, tensor  # noqa: F401
