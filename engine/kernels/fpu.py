"""Flush denormals to zero in the calling thread (x86 MXCSR FTZ|DAZ).

A recursive filter decaying after signal passes through the denormal range,
where x86 arithmetic is 20-100x slower; a mixer fed digital silence would
then cost more than one fed signal. numba does not set MXCSR, so the block
function sets it itself on entry and restores the caller's value on exit
(offline callers share the thread with other numeric code).
"""

from __future__ import annotations

import platform

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")
#: MXCSR bits: FTZ (flush-to-zero, bit 15) | DAZ (denormals-are-zero, bit 6).
FTZ_DAZ = 0x8040

if _X86:

    @intrinsic
    def _get_mxcsr(typingctx):
        def codegen(context, builder, signature, args):
            slot = builder.alloca(ir.IntType(32))
            fnty = ir.FunctionType(ir.VoidType(), [ir.PointerType(ir.IntType(8))])
            fn = builder.module.declare_intrinsic("llvm.x86.sse.stmxcsr", fnty=fnty)
            builder.call(fn, [builder.bitcast(slot, ir.PointerType(ir.IntType(8)))])
            return builder.zext(builder.load(slot), ir.IntType(64))

        return types.int64(), codegen

    @intrinsic
    def _set_mxcsr(typingctx, value):
        def codegen(context, builder, signature, args):
            slot = builder.alloca(ir.IntType(32))
            builder.store(builder.trunc(args[0], ir.IntType(32)), slot)
            fnty = ir.FunctionType(ir.VoidType(), [ir.PointerType(ir.IntType(8))])
            fn = builder.module.declare_intrinsic("llvm.x86.sse.ldmxcsr", fnty=fnty)
            builder.call(fn, [builder.bitcast(slot, ir.PointerType(ir.IntType(8)))])
            return context.get_dummy_value()

        return types.void(types.int64), codegen

    @njit(cache=True, nogil=True, error_model="numpy")
    def flush_denormals() -> int:
        """Set FTZ and DAZ; return the previous MXCSR for :func:`restore_fpu`."""
        old = _get_mxcsr()
        _set_mxcsr(old | FTZ_DAZ)
        return old

    @njit(cache=True, nogil=True, error_model="numpy")
    def restore_fpu(old: int) -> None:
        """Restore the MXCSR saved by :func:`flush_denormals`."""
        _set_mxcsr(old)

else:  # pragma: no cover - non-x86 hosts rely on the kernels' own guards

    @njit(cache=True, nogil=True, error_model="numpy")
    def flush_denormals() -> int:
        return 0

    @njit(cache=True, nogil=True, error_model="numpy")
    def restore_fpu(old: int) -> None:
        return None
