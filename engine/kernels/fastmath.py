"""Branch-free log2 / exp2 for per-sample dynamics (errors below 2e-5 dB).

The compressor needs a level in dB and a gain from dB on every sample while
it moves; libm's log10 and pow cost more than all six biquads of the strip.
These reinterpret the float's bits (exponent and mantissa) and evaluate a
short polynomial on the mantissa, accurate to better than 0.001 dB, which is
far below anything a meter or an ear resolves.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .simd import f64x8

#: 20 log10(x) = DB_PER_LOG2 * log2(x)
DB_PER_LOG2 = 6.020599913279624
#: 10^(db/20) = 2^(db * LOG2_PER_DB)
LOG2_PER_DB = 1.0 / DB_PER_LOG2


# The bit manipulations are written as LLVM intrinsics: numba's own integer
# shift guards against over-long shifts with a branch, which would keep LLVM
# from vectorising the loops that call these. Each takes a float64 or a tile
# of them (``simd.f64x8``), lane by lane.
_I64 = ir.IntType(64)
_F64 = ir.DoubleType()


def _like(x, scalar_type, value):
    """``value`` as a constant of ``scalar_type``, or of its vector when ``x`` is a vector."""
    if isinstance(x.type, ir.VectorType):
        return ir.Constant(ir.VectorType(scalar_type, x.type.count), [value] * x.type.count)
    return ir.Constant(scalar_type, value)


def _int_of(x):
    """The integer type (or vector of it) with ``x``'s shape."""
    return ir.VectorType(_I64, x.type.count) if isinstance(x.type, ir.VectorType) else _I64


def _float_signature(x):
    """Signature of a lane-by-lane function of a float64 or a tile; None for other types."""
    if x == types.float64 or x == f64x8:
        return x(x)
    return None


@intrinsic
def _exponent(typingctx, x):
    """The unbiased binary exponent of a positive normal double, as a double."""

    def codegen(context, builder, signature, args):
        v = args[0]
        bits = builder.bitcast(v, _int_of(v))
        field = builder.or_(builder.lshr(bits, _like(v, _I64, 52)), _like(v, _I64, 0x4330000000000000))
        # 0x433... is 2^52: the field lands in the mantissa, no int-to-float conversion
        as_float = builder.bitcast(field, v.type)
        return builder.fsub(as_float, _like(v, _F64, 4503599627370496.0 + 1023.0))

    return _float_signature(x), codegen


@intrinsic
def _mantissa(typingctx, x):
    """The mantissa of a double scaled into [1, 2)."""

    def codegen(context, builder, signature, args):
        v = args[0]
        bits = builder.bitcast(v, _int_of(v))
        m = builder.or_(builder.and_(bits, _like(v, _I64, 0xFFFFFFFFFFFFF)), _like(v, _I64, 0x3FF0000000000000))
        return builder.bitcast(m, v.type)

    return _float_signature(x), codegen


@intrinsic
def _pow2_int(typingctx, k):
    """2^k for an integral double k in [-1022, 1023]."""

    def codegen(context, builder, signature, args):
        v = args[0]
        biased = builder.fptosi(builder.fadd(v, _like(v, _F64, 1023.0)), _int_of(v))
        return builder.bitcast(builder.shl(biased, _like(v, _I64, 52)), v.type)

    return _float_signature(k), codegen


@intrinsic
def _truncate(typingctx, x):
    """``float(int(x))``: x rounded toward zero (|x| < 2^63)."""

    def codegen(context, builder, signature, args):
        v = args[0]
        return builder.sitofp(builder.fptosi(v, _int_of(v)), v.type)

    return _float_signature(x), codegen


# log2(1 + t) on t in [0, 1) and 2^f on f in [-0.5, 0.5]: least-squares fits on
# Chebyshev nodes; largest errors 1.5e-5 dB and 1.1e-6 dB. Horner form with no
# division, so the callers' channel loops vectorise.
_L1, _L2, _L3 = 1.44253477956703, -0.7180335903818009, 0.4571581210655751
_L4, _L5, _L6 = -0.277341645957986, 0.12147294837882842, -0.025792345031511458
_E1, _E2, _E3 = 0.6931472067106194, 0.24022228148388713, 0.05550327214209367
_E4, _E5 = 0.009672171736004823, 0.0013400432165343948  # 2^0 is exactly 1: unity gain stays exact


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def fast_log2(x: float) -> float:
    """log2 of a positive normal ``x`` (callers clamp away zero); a float or a tile.

    x = 2^e * m with m in [1, 2): log2 x = e + p(m - 1), p the degree-6 fit above.
    """
    t = _mantissa(x) - 1.0
    p = t * (_L1 + t * (_L2 + t * (_L3 + t * (_L4 + t * (_L5 + t * _L6)))))
    return _exponent(x) + p


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def fast_exp2(y: float) -> float:
    """2^y for y in [-1000, 1000] (clamped); relative error below 1.3e-7, exact at 0.

    y = k + f with k integral and f in [-0.5, 0.5]; 2^f by the degree-5 fit
    above; 2^k is built in the exponent bits.
    """
    y = min(max(y, -1000.0), 1000.0)
    k = _truncate(y + 1024.5) - 1024.0  # round to nearest without a libm call
    f = y - k
    p = 1.0 + f * (_E1 + f * (_E2 + f * (_E3 + f * (_E4 + f * _E5))))
    return p * _pow2_int(k)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def amp_to_db(x: float) -> float:
    """20 log10(x), with x clamped at 1e-12 (-240 dB)."""
    return DB_PER_LOG2 * fast_log2(max(x, 1e-12))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def db_to_amp(db: float) -> float:
    """10^(db / 20)."""
    return fast_exp2(db * LOG2_PER_DB)
