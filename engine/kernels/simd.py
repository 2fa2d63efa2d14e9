"""Eight float64 lanes as one value: a tile of channels held in registers.

The strip's passes vectorise across channels, but LLVM's loop vectoriser
reloads every coefficient and state value from memory on every sample. A
kernel written over tiles of ``WIDTH`` channels with :class:`F64x8` locals
has the x42 shape instead: load a tile's coefficients and state once, run
the frame loop on registers, write the state back. ``+ - *`` work between
tiles and with a float64 scalar (broadcast), with the same ``contract``
flag as the scalar kernels, so a function such as ``filters.tick`` compiles
for tiles unchanged and rounds exactly as its scalar form.

The type is LLVM's ``<8 x double>``: one AVX-512 register, two AVX2 ones,
four SSE2 ones; LLVM splits it for the host.
"""

from __future__ import annotations

import operator

from llvmlite import ir
from numba import types
from numba.core import cgutils, errors
from numba.extending import intrinsic, models, overload, register_model

#: Lanes of a tile (channels per tile).
WIDTH = 8
_LL_VEC = ir.VectorType(ir.DoubleType(), WIDTH)
_LL_I32 = ir.IntType(32)
#: The scalar kernels' only fast-math flag: multiply-adds may fuse (FMA).
_FLAGS = ("contract",)


class F64x8(types.Type):
    """numba type of a tile of eight float64 lanes."""

    def __init__(self):
        super().__init__(name="f64x8")


f64x8 = F64x8()


@register_model(F64x8)
class _F64x8Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _LL_VEC)


def _check_row(arr) -> None:
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.dtype == types.float64
            and arr.layout == "C"):
        raise errors.TypingError(f"a tile moves to and from a contiguous float64 row, not {arr}")


def _lane_ptr(context, builder, arrty, arr, index):
    data = context.make_array(arrty)(context, builder, arr).data
    return builder.bitcast(builder.gep(data, [index]), _LL_VEC.as_pointer())


def _mask(builder, lanes):
    """``<8 x i1>``: lane i is on when i < lanes."""
    ivec = ir.VectorType(_LL_I32, WIDTH)
    n = builder.insert_element(ir.Constant(ivec, ir.Undefined), builder.trunc(lanes, _LL_I32),
                               ir.Constant(_LL_I32, 0))
    n = builder.shuffle_vector(n, ir.Constant(ivec, ir.Undefined), ir.Constant(ivec, [0] * WIDTH))
    return builder.icmp_signed("<", ir.Constant(ivec, list(range(WIDTH))), n)


def _masked(builder, name, ret, args):
    fnty = ir.FunctionType(ret, [a.type for a in args])
    fn = cgutils.get_or_insert_function(builder.module, fnty, name)
    return builder.call(fn, args)


@intrinsic
def load(typingctx, row, start, lanes):
    """``row[start : start + lanes]`` as a tile (``lanes`` <= 8; the other
    lanes read as 0, and no memory beyond the row is touched)."""
    _check_row(row)

    def codegen(context, builder, signature, args):
        ptr = _lane_ptr(context, builder, signature.args[0], args[0], args[1])
        return _masked(builder, "llvm.masked.load.v8f64.p0", _LL_VEC,
                       [ptr, _mask(builder, args[2]), ir.Constant(_LL_VEC, [0.0] * WIDTH)])

    return f64x8(row, start, lanes), codegen


@intrinsic
def store(typingctx, row, start, lanes, tile):
    """``row[start : start + lanes] = tile[:lanes]``; nothing else is written."""
    _check_row(row)
    if tile != f64x8:
        raise errors.TypingError(f"store takes a tile, not {tile}")

    def codegen(context, builder, signature, args):
        ptr = _lane_ptr(context, builder, signature.args[0], args[0], args[1])
        _masked(builder, "llvm.masked.store.v8f64.p0", ir.VoidType(),
                [args[3], ptr, _mask(builder, args[2])])
        return context.get_dummy_value()

    return types.void(row, start, lanes, tile), codegen


@intrinsic
def splat(typingctx, x):
    """A tile with ``x`` in every lane."""
    if not isinstance(x, (types.Float, types.Integer)):
        raise errors.TypingError(f"splat takes a number, not {x}")

    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[0], signature.args[0], types.float64)
        one = builder.insert_element(ir.Constant(_LL_VEC, ir.Undefined), v, ir.Constant(_LL_I32, 0))
        return builder.shuffle_vector(one, ir.Constant(_LL_VEC, ir.Undefined),
                                      ir.Constant(ir.VectorType(_LL_I32, WIDTH), [0] * WIDTH))

    return f64x8(x), codegen


def _lanewise(op_name: str):
    @intrinsic
    def lanewise(typingctx, a, b):
        if a != f64x8 or b != f64x8:
            return None

        def codegen(context, builder, signature, args):
            return getattr(builder, op_name)(args[0], args[1], flags=_FLAGS)

        return f64x8(a, b), codegen

    return lanewise


_add, _sub, _mul = _lanewise("fadd"), _lanewise("fsub"), _lanewise("fmul")


def _overload_operator(py_op, lanewise) -> None:
    @overload(py_op)
    def impl(a, b):
        if a == f64x8 and b == f64x8:
            return lambda a, b: lanewise(a, b)
        if a == f64x8 and isinstance(b, (types.Float, types.Integer)):
            return lambda a, b: lanewise(a, splat(b))
        if isinstance(a, (types.Float, types.Integer)) and b == f64x8:
            return lambda a, b: lanewise(splat(a), b)
        return None


_overload_operator(operator.add, _add)
_overload_operator(operator.sub, _sub)
_overload_operator(operator.mul, _mul)

__all__ = ["WIDTH", "F64x8", "f64x8", "load", "store", "splat"]
