"""C lowerings, one module per op family. Importing this package registers them all."""
from . import attention, conv, elementwise, gemm, pool, reduce, rnn, tensor  # noqa: F401
from . import loss, norm  # noqa: F401
from . import einsum, quant  # noqa: F401
from . import index, layout, resize  # noqa: F401
