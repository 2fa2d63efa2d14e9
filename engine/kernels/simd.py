"""Eight float64 lanes as one value: a tile of channels held in registers.

The strip's passes vectorise across channels, but LLVM's loop vectoriser
reloads every coefficient and state value from memory on every sample. A
kernel written over tiles of ``WIDTH`` channels with :class:`F64x8` locals
has the x42 shape instead: load a tile's coefficients and state once, run
the frame loop on registers, write the state back. ``+ - *`` work between
tiles and with a float64 scalar (broadcast) and take the fast-math flags of
the function they are compiled in, as scalar operations do, so a function
such as ``filters.tick`` compiles for tiles unchanged and rounds exactly as
its scalar form. Comparisons give a :class:`B8` lane mask (``& | ~``);
:func:`where` selects by a mask or by a plain bool, and ``min``, ``max``
and ``abs`` follow numba's scalar semantics lane by lane, so a function
written with them (``peak_hold``) also serves both.

The type is LLVM's ``<8 x double>``: one AVX-512 register, two AVX2 ones,
four SSE2 ones; LLVM splits it for the host. :func:`on_tiles` drives a
kernel written as load / per-sample step / store over every tile of a
segment, four tiles side by side.
"""

from __future__ import annotations

import operator

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils, errors
from numba.extending import intrinsic, models, overload, register_model

#: Lanes of a tile (channels per tile).
WIDTH = 8
_LL_VEC = ir.VectorType(ir.DoubleType(), WIDTH)
_LL_I32 = ir.IntType(32)


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


@njit(inline="always")
def store_rows(rows, start, lanes, tiles):
    """``store`` each of ``tiles`` into the row of ``rows`` in the same place."""
    for i in range(len(rows)):
        store(rows[i], start, lanes, tiles[i])


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


def _lanewise(op_name: str, ty=f64x8):
    """An intrinsic applying the IR builder's ``op_name`` lane by lane to two values of ``ty``."""

    @intrinsic
    def lanewise(typingctx, a, b):
        if a != ty or b != ty:
            return None

        def codegen(context, builder, signature, args):
            # no flags of its own: numba adds the function's fast-math flags
            return getattr(builder, op_name)(args[0], args[1])

        return ty(a, b), codegen

    return lanewise


def _lanewise_unary(op_name: str, ty=f64x8):
    """An intrinsic applying the IR builder's ``op_name`` lane by lane to one value of ``ty``."""

    @intrinsic
    def lanewise(typingctx, a):
        if a != ty:
            return None

        def codegen(context, builder, signature, args):
            return getattr(builder, op_name)(args[0])

        return ty(a), codegen

    return lanewise


_add, _sub, _mul = _lanewise("fadd"), _lanewise("fsub"), _lanewise("fmul")
# IEEE division lane by lane, as numba divides floats under error_model="numpy"
_div = _lanewise("fdiv")


def _overload_operator(py_op, lanewise) -> None:
    @overload(py_op)
    def impl(a, b):
        # a tile with a tile or a number (broadcast); two numbers are numba's own
        if f64x8 in (a, b) and all(t == f64x8 or _is_number(t) for t in (a, b)):
            return lambda a, b: lanewise(_as_tile(a), _as_tile(b))
        return None


for _ops, _lanes in (((operator.add, operator.iadd), _add), ((operator.sub, operator.isub), _sub),
                     ((operator.mul, operator.imul), _mul),
                     ((operator.truediv, operator.itruediv), _div)):
    for _op in _ops:  # a tile is a value: x += y rebinds x, as for floats
        _overload_operator(_op, _lanes)


_neg = _lanewise_unary("fneg")


@overload(operator.neg, inline="always")
def _neg_impl(a):
    if a == f64x8:
        return lambda a: _neg(a)
    return None


class B8(types.Type):
    """numba type of a lane mask of a tile (a comparison's result)."""

    def __init__(self):
        super().__init__(name="b8")


b8 = B8()
_LL_MASK = ir.VectorType(ir.IntType(1), WIDTH)


@register_model(B8)
class _B8Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _LL_MASK)


def _comparison(op: str):
    @intrinsic
    def compare(typingctx, a, b):
        if a != f64x8 or b != f64x8:
            return None

        def codegen(context, builder, signature, args):
            # Python's: every comparison with NaN is false except !=
            if op == "!=":
                return builder.fcmp_unordered(op, args[0], args[1])
            return builder.fcmp_ordered(op, args[0], args[1])

        return b8(a, b), codegen

    return compare


def _is_number(t) -> bool:
    return isinstance(t, (types.Float, types.Integer))


def _overload_comparison(py_op, op: str) -> None:
    compare = _comparison(op)

    @overload(py_op, inline="always")
    def impl(a, b):
        if a == f64x8 and b == f64x8:
            return lambda a, b: compare(a, b)
        if a == f64x8 and _is_number(b):
            return lambda a, b: compare(a, splat(b))
        if _is_number(a) and b == f64x8:
            return lambda a, b: compare(splat(a), b)
        return None


for _py_op, _op in ((operator.lt, "<"), (operator.le, "<="), (operator.gt, ">"),
                    (operator.ge, ">="), (operator.eq, "=="), (operator.ne, "!=")):
    _overload_comparison(_py_op, _op)


_and, _or = _lanewise("and_", b8), _lanewise("or_", b8)


_not = _lanewise_unary("not_", b8)


@overload(operator.and_, inline="always")
def _and_impl(a, b):
    if a == b8 and b == b8:
        return lambda a, b: _and(a, b)
    return None


@overload(operator.or_, inline="always")
def _or_impl(a, b):
    if a == b8 and b == b8:
        return lambda a, b: _or(a, b)
    return None


@overload(operator.invert, inline="always")
def _invert_impl(a):
    if a == b8:
        return lambda a: _not(a)
    return None


@intrinsic
def _select(typingctx, mask, a, b):
    if mask != b8 or a != f64x8 or b != f64x8:
        return None

    def codegen(context, builder, signature, args):
        return builder.select(args[0], args[1], args[2])

    return f64x8(mask, a, b), codegen


def where(cond, a, b):
    """``a`` where ``cond`` holds, else ``b``: lane by lane for a mask, as
    ``a if cond else b`` for a bool (in compiled code)."""
    return a if cond else b


def _as_tile(x):
    """``x`` as a tile: itself, or a number in every lane."""
    return x


@overload(_as_tile, inline="always")
def _as_tile_impl(x):
    if x == f64x8:
        return lambda x: x
    if _is_number(x):
        return lambda x: splat(x)
    return None


@overload(where, inline="always")
def _where_impl(cond, a, b):
    if not all(t == f64x8 or _is_number(t) for t in (a, b)):
        return None
    if cond == b8:  # lane by lane
        return lambda cond, a, b: _select(cond, _as_tile(a), _as_tile(b))
    if isinstance(cond, types.Boolean):
        if _is_number(a) and _is_number(b):
            return lambda cond, a, b: _select_number(cond, a, b)
        # one bool for the whole tile (a select, not a branch)
        return lambda cond, a, b: _select_number(cond, _as_tile(a), _as_tile(b))
    return None


@intrinsic
def _select_number(typingctx, cond, a, b):
    # a select, not a branch: what LLVM makes of ``a if cond else b`` anyway,
    # without numba's pedantic SSA warnings for an inlined conditional
    ty = typingctx.unify_types(a, b)

    def codegen(context, builder, signature, args):
        return builder.select(args[0], context.cast(builder, args[1], a, ty),
                              context.cast(builder, args[2], b, ty))

    return ty(cond, a, b), codegen


@overload(max, inline="always")
def _max_impl(a, b):
    # numba's float max(a, b): b if b > a else a (so NaN in b loses)
    if f64x8 in (a, b) and all(t == f64x8 or _is_number(t) for t in (a, b)):
        return lambda a, b: where(b > a, b, a)
    return None


@overload(min, inline="always")
def _min_impl(a, b):
    if f64x8 in (a, b) and all(t == f64x8 or _is_number(t) for t in (a, b)):
        return lambda a, b: where(b < a, b, a)
    return None


@intrinsic
def _fabs(typingctx, a):
    if a != f64x8:
        return None

    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_LL_VEC, [_LL_VEC]),
                                            "llvm.fabs.v8f64")
        return builder.call(fn, args)

    return f64x8(a), codegen


@overload(abs, inline="always")
def _abs_impl(a):
    if a == f64x8:
        return lambda a: _fabs(a)
    return None


__all__ = ["WIDTH", "QUAD", "F64x8", "f64x8", "B8", "b8", "load", "store", "store_rows", "splat", "where",
           "on_tiles"]


# Four tiles run side by side: one tile's recursion (a detector, a glide) is
# a chain of dependent operations from sample to sample, and the core fills
# each one's latency with the other three's work; one tile at a time left it
# idle.
QUAD = 4 * WIDTH


@njit(inline="always")
def on_tiles(load, step, store, rows, src, dst, n0, n1) -> None:
    """Rows ``n0..n1`` of every channel, a tile of channels at a time (four side
    by side while they last): ``load(rows, cb, k)`` takes a tile's state into
    registers, ``step(src[n], dst[n], cb, k, state)`` runs one sample of it,
    ``store(rows, cb, k, state)`` writes it back."""
    n_ch = dst.shape[1]
    cb = 0
    while n_ch - cb >= QUAD:
        a, b = load(rows, cb, WIDTH), load(rows, cb + WIDTH, WIDTH)
        c, d = load(rows, cb + 2 * WIDTH, WIDTH), load(rows, cb + 3 * WIDTH, WIDTH)
        for n in range(n0, n1):
            x, y = src[n], dst[n]
            a, b = step(x, y, cb, WIDTH, a), step(x, y, cb + WIDTH, WIDTH, b)
            c, d = step(x, y, cb + 2 * WIDTH, WIDTH, c), step(x, y, cb + 3 * WIDTH, WIDTH, d)
        store(rows, cb, WIDTH, a)
        store(rows, cb + WIDTH, WIDTH, b)
        store(rows, cb + 2 * WIDTH, WIDTH, c)
        store(rows, cb + 3 * WIDTH, WIDTH, d)
        cb += QUAD
    while cb < n_ch:
        k = min(n_ch - cb, WIDTH)
        a = load(rows, cb, k)
        for n in range(n0, n1):
            a = step(src[n], dst[n], cb, k, a)
        store(rows, cb, k, a)
        cb += WIDTH
