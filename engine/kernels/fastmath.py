"""Branch-free log2 / exp2 for per-sample dynamics (errors below 1e-5 dB).

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

#: 20 log10(x) = DB_PER_LOG2 * log2(x)
DB_PER_LOG2 = 6.020599913279624
#: 10^(db/20) = 2^(db * LOG2_PER_DB)
LOG2_PER_DB = 1.0 / DB_PER_LOG2


# The bit manipulations are written as LLVM intrinsics: numba's own integer
# shift guards against over-long shifts with a branch, which would keep LLVM
# from vectorising the loops that call these.
_I64 = ir.IntType(64)
_F64 = ir.DoubleType()


@intrinsic
def _exponent(typingctx, x):
    """The unbiased binary exponent of a positive normal double, as a double."""

    def codegen(context, builder, signature, args):
        bits = builder.bitcast(args[0], _I64)
        field = builder.or_(builder.lshr(bits, ir.Constant(_I64, 52)),
                            ir.Constant(_I64, 0x4330000000000000))
        # 0x433... is 2^52: the field lands in the mantissa, no int-to-float conversion
        as_float = builder.bitcast(field, _F64)
        return builder.fsub(as_float, ir.Constant(_F64, 4503599627370496.0 + 1023.0))

    return types.float64(types.float64), codegen


@intrinsic
def _mantissa(typingctx, x):
    """The mantissa of a double scaled into [1, 2)."""

    def codegen(context, builder, signature, args):
        bits = builder.bitcast(args[0], _I64)
        m = builder.or_(builder.and_(bits, ir.Constant(_I64, 0xFFFFFFFFFFFFF)),
                        ir.Constant(_I64, 0x3FF0000000000000))
        return builder.bitcast(m, _F64)

    return types.float64(types.float64), codegen


@intrinsic
def _pow2_int(typingctx, k):
    """2^k for an integral double k in [-1022, 1023]."""

    def codegen(context, builder, signature, args):
        biased = builder.fptosi(builder.fadd(args[0], ir.Constant(_F64, 1023.0)), _I64)
        return builder.bitcast(builder.shl(biased, ir.Constant(_I64, 52)), _F64)

    return types.float64(types.float64), codegen


# log2(1 + t) on t in [0, 1): least-squares fit on Chebyshev nodes, degree 7,
# largest error 3.7e-7 (2.2e-6 dB); Horner form, no division, so it vectorises.
_L1, _L2, _L3, _L4 = 1.4426640464277913, -0.7205155141084068, 0.47311334502231983, -0.3246163836076041
_L5, _L6, _L7 = 0.19238505485326016, -0.07815820827417115, 0.015127916047879986


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def fast_log2(x: float) -> float:
    """log2 of a positive normal ``x`` (callers clamp away zero).

    x = 2^e * m with m in [1, 2): log2 x = e + p(m - 1), p the degree-7 fit above.
    """
    t = _mantissa(x) - 1.0
    p = t * (_L1 + t * (_L2 + t * (_L3 + t * (_L4 + t * (_L5 + t * (_L6 + t * _L7))))))
    return _exponent(x) + p


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def fast_exp2(y: float) -> float:
    """2^y for y in [-1000, 1000] (clamped); relative error below 1e-7.

    y = k + f with k integral and f in [-0.5, 0.5]; 2^f = e^(f ln 2) by its
    Taylor series to degree 7; 2^k is built in the exponent bits.
    """
    y = min(max(y, -1000.0), 1000.0)
    k = float(int(y + 1024.5)) - 1024.0  # round to nearest without a libm call
    f = (y - k) * 0.6931471805599453
    p = 1.0 + f * (1.0 + f * (0.5 + f * (1.0 / 6.0 + f * (1.0 / 24.0 + f * (
        1.0 / 120.0 + f * (1.0 / 720.0 + f * (1.0 / 5040.0)))))))
    return p * _pow2_int(k)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def amp_to_db(x: float) -> float:
    """20 log10(x), with x clamped at 1e-12 (-240 dB)."""
    return DB_PER_LOG2 * fast_log2(max(x, 1e-12))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def db_to_amp(db: float) -> float:
    """10^(db / 20)."""
    return fast_exp2(db * LOG2_PER_DB)
