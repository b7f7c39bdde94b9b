"""C lowerings, one module per op family. Importing this package registers them all."""
from . import elementwise, gemm, rnn  # noqa: F401
