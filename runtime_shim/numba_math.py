"""Vectorizable math for compiled Numba blocks.

Numba lowers `np.exp`, `np.tanh` and `np.log` to a scalar libm call per element (there
is no vector math library behind it here), which keeps the whole loop around them
scalar, while NumPy's own float32 versions are SIMD. `exp_f32`, `tanh_f32`, `log_f32`
and their float64 twins are the classic Cephes algorithms written with plain
arithmetic, a rounding and integer bit operations only, so that LLVM inlines and
vectorizes them inside the generated loops (2-6x faster than the libm calls, at most
2 ulp from the exact value; NumPy's own float32 ones are not exact either). Blocks are
compiled with error_model="numpy": a division by zero then needs no exception branch,
which would keep the loop scalar. exp:

    exp(x) = 2**n * exp(r),  n = rint(x / ln 2),  r = x - n ln 2 (in two parts)

with exp(r) a degree-7 polynomial on |r| <= ln(2)/2 and 2**n applied without a product
of two scales (fastmath's reassoc regroups y * s1 * s2 as y * (s1 * s2), which is inf
for n = 128 and 0 for n = -150): n is added to the exponent bits of exp(r) where the
result is normal (inf past the largest float), and a subnormal result is
exp(r) * 2**(n + 64) * 2**-64, which rounds once in either grouping. Out-of-range inputs
are clamped first (the result is inf or 0 as it must be) and NaN passes through.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, types
from numba.extending import intrinsic


def _bitcast(name: str, src: Any, dst: Any) -> Any:
    """An intrinsic `name(x)`: the `dst` scalar with the IEEE bits of the `src` scalar x
    (one LLVM bitcast, which vectorizes)."""

    def impl(typingctx: Any, x: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.bitcast(args[0], context.get_value_type(dst))

        return dst(src), codegen

    impl.__name__ = impl.__qualname__ = name
    return intrinsic(impl)


_f32_from_bits = _bitcast("_f32_from_bits", types.int32, types.float32)
_bits_of_f32 = _bitcast("_bits_of_f32", types.float32, types.int32)
_f64_from_bits = _bitcast("_f64_from_bits", types.int64, types.float64)
_bits_of_f64 = _bitcast("_bits_of_f64", types.float64, types.int64)


@njit(inline="always", nogil=True, cache=False)
def exp_f32(x: Any) -> Any:
    t = x if x > np.float32(-104.0) else np.float32(-104.0)  # exp(-104) rounds to 0
    t = t if t < np.float32(89.0) else np.float32(89.0)  # exp(89) overflows to inf
    n = np.rint(t * np.float32(1.44269504088896341))
    r = t - n * np.float32(0.693359375)  # ln 2 in two parts (Cody-Waite)
    r = r - n * np.float32(-2.12194440e-4)
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    y = p * (r * r) + r + np.float32(1.0)
    k = np.int32(n)  # in [-150, 128]; y in [0.7, 1.42]
    # a normal result: k added to y's exponent bits (past the largest float the bits are
    # NaN's or inf's, and the comparison turns them into inf)
    big = _f32_from_bits(_bits_of_f32(y) + (k << np.int32(23)))
    big = big if big <= np.float32(3.40282347e38) else np.float32(np.inf)
    # a subnormal one (k <= -126): y * 2**(k + 64) is exact, and * 2**-64 rounds once in
    # either grouping, as 2**k is a float down to k = -149; at k = -150 it rounds to 0 or
    # to the smallest subnormal
    s = _f32_from_bits((k + np.int32(191)) << np.int32(23))
    tiny = y * s * np.float32(5.421010862427522e-20)
    least = _f32_from_bits(np.int32(1)) if y > np.float32(1.0) else np.float32(0.0)
    tiny = tiny if n > np.float32(-150.0) else least
    res = big if n > np.float32(-126.0) else tiny
    return x if x != x else res


@njit(inline="always", nogil=True, cache=False)
def tanh_f32(x: Any) -> Any:
    """tanh on float32 without a libm call (Cephes' tanhf): an odd polynomial below
    |x| 0.625, else 1 - 2 / (exp(2|x|) + 1) with the sign of x. Both are computed and
    one selected, so that the loop around it stays branch-free and vectorizes."""
    a = np.abs(x)
    z = x * x
    p = np.float32(-5.70498872745e-3)
    p = p * z + np.float32(2.06390887954e-2)
    p = p * z + np.float32(-5.37397155531e-2)
    p = p * z + np.float32(1.33314422036e-1)
    p = p * z + np.float32(-3.33332819422e-1)
    small = x + x * z * p
    big = np.float32(1.0) - np.float32(2.0) / (exp_f32(a + a) + np.float32(1.0))
    big = big if x >= np.float32(0.0) else -big
    small = x if a < np.float32(1e-4) else small  # (keeps -0.0; x**3 / 3 is below an ulp there)
    res = small if a < np.float32(0.625) else big
    return x if x != x else res


@njit(inline="always", nogil=True, cache=False)
def log_f32(x: Any) -> Any:
    """Natural log on float32 without a libm call (Cephes' logf): x = m 2**e with m in
    [sqrt(1/2), sqrt(2)) read from the bits (subnormals scaled by 2**23 first), then
    log(m) a degree-9 polynomial in m - 1 and e ln 2 added in two parts. NaN below 0,
    -inf at 0 and inf at inf, as NumPy's."""
    tiny = x < np.float32(1.17549435e-38)
    y = x * np.float32(8388608.0) if tiny else x
    bits = _bits_of_f32(y)
    e = ((bits >> np.int32(23)) & np.int32(0xFF)) - np.int32(126)
    e = e - np.int32(23) if tiny else e
    m = _f32_from_bits((bits & np.int32(0x007FFFFF)) | np.int32(0x3F000000))  # in [0.5, 1)
    low = m < np.float32(0.707106781186547524)
    e = e - np.int32(1) if low else e
    t = (m + m if low else m) - np.float32(1.0)
    z = t * t
    p = np.float32(7.0376836292e-2)
    p = p * t + np.float32(-1.1514610310e-1)
    p = p * t + np.float32(1.1676998740e-1)
    p = p * t + np.float32(-1.2420140846e-1)
    p = p * t + np.float32(1.4249322787e-1)
    p = p * t + np.float32(-1.6668057665e-1)
    p = p * t + np.float32(2.0000714765e-1)
    p = p * t + np.float32(-2.4999993993e-1)
    p = p * t + np.float32(3.3333331174e-1)
    fe = np.float32(e)
    r = p * t * z + fe * np.float32(-2.12194440e-4) - np.float32(0.5) * z
    r = t + r + fe * np.float32(0.693359375)
    r = r if x < np.float32(np.inf) else x  # inf (and NaN) through
    # below 0: NumPy's (libm's) NaN carries the sign bit (x86's default NaN)
    r = r if x > np.float32(0.0) else (np.float32(-np.inf) if x == np.float32(0.0)
                                       else _f32_from_bits(np.int32(-4194304)))
    return x if x != x else r


@njit(inline="always", nogil=True, cache=False)
def exp_f64(x: Any) -> Any:
    """exp on float64 without a libm call (Cephes' exp): the reduction and the scaling
    of exp_f32 (fastmath-safe), with exp(r) as 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2))."""
    t = x if x > -745.2 else -745.2  # below, exp rounds to 0 (and n stays >= -1075)
    t = t if t < 710.0 else 710.0  # exp(710) overflows to inf
    n = np.rint(t * 1.4426950408889634073599)
    r = t - n * 6.93145751953125e-1
    r = r - n * 1.42860682030941723212e-6
    xx = r * r
    px = r * ((1.26177193074810590878e-4 * xx + 3.02994407707441961300e-2) * xx + 9.99999999999999999910e-1)
    qx = ((3.00198505138664455042e-6 * xx + 2.52448340349684104192e-3) * xx + 2.27265548208155028766e-1) * xx \
        + 2.00000000000000000009e0
    y = 1.0 + 2.0 * (px / (qx - px))
    # (k in int32: AVX2 converts doubles to and from int32 lanes, not int64 ones)
    k = np.int64(np.int32(n))  # in [-1075, 1024]; y in [0.7, 1.42]
    big = _f64_from_bits(_bits_of_f64(y) + (k << np.int64(52)))
    big = big if big <= 1.7976931348623157e308 else np.inf
    s = _f64_from_bits((k + np.int64(1535)) << np.int64(52))  # 2**(k + 512)
    tiny = y * s * 7.458340731200207e-155  # * 2**-512
    least = 5e-324 if y > 1.0 else 0.0
    tiny = tiny if n > -1075.0 else least
    res = big if n > -1022.0 else tiny
    return x if x != x else res


@njit(inline="always", nogil=True, cache=False)
def tanh_f64(x: Any) -> Any:
    """tanh on float64 (Cephes' tanh): x + x^3 P(x^2) / Q(x^2) below |x| 0.625, else
    1 - 2 / (exp(2|x|) + 1) with the sign of x; branch-free, as tanh_f32."""
    a = np.abs(x)
    z = x * x
    p = (-9.64399179425052238628e-1 * z - 9.92877231001918586564e1) * z - 1.61468768441708447952e3
    q = ((z + 1.12811678491632931402e2) * z + 2.23548839060100448583e3) * z + 4.84406305325125486048e3
    small = x + x * z * (p / q)
    small = x if a < 1e-9 else small  # (keeps -0.0; x**3 / 3 is below an ulp there)
    big = 1.0 - 2.0 / (exp_f64(a + a) + 1.0)
    big = big if x >= 0.0 else -big
    res = small if a < 0.625 else big
    return x if x != x else res


@njit(inline="always", nogil=True, cache=False)
def log_f64(x: Any) -> Any:
    """Natural log on float64 (Cephes' log): x = m 2**e with m in [sqrt(1/2), sqrt(2))
    read from the bits (subnormals scaled by 2**52 first), log(m) = y - y^2/2 +
    y^3 P(y) / Q(y) for y = m - 1, and e ln 2 added in two parts. NaN below 0, -inf at
    0, inf at inf."""
    tiny = x < 2.2250738585072014e-308
    v = x * 4503599627370496.0 if tiny else x
    bits = _bits_of_f64(v)
    e = np.int32((bits >> np.int64(52)) & np.int64(0x7FF)) - np.int32(1022)  # (int32: see exp_f64)
    e = e - np.int32(52) if tiny else e
    m = _f64_from_bits((bits & np.int64(0x000FFFFFFFFFFFFF)) | np.int64(0x3FE0000000000000))  # [0.5, 1)
    low = m < 0.70710678118654752440
    e = e - np.int32(1) if low else e
    y = (m + m if low else m) - 1.0
    z = y * y
    p = ((((1.01875663804580931796e-4 * y + 4.97494994976747001425e-1) * y + 4.70579119878881725854e0) * y
          + 1.44989225341610930846e1) * y + 1.79368678507819816313e1) * y + 7.70838733755885391666e0
    q = ((((y + 1.12873587189167450590e1) * y + 4.52279145837532221105e1) * y + 8.29875266912776603211e1) * y
         + 7.11544750618563894466e1) * y + 2.31251620126765340583e1
    fe = np.float64(e)
    r = y * (z * p / q) - fe * 2.121944400546905827679e-4 - 0.5 * z
    r = y + r + fe * 0.693359375
    r = r if x < np.inf else x  # inf (and NaN) through
    # below 0: NumPy's (libm's) NaN carries the sign bit (x86's default NaN), not np.nan's
    r = r if x > 0.0 else (-np.inf if x == 0.0 else _f64_from_bits(np.int64(-2251799813685248)))
    return x if x != x else r


@njit(nogil=True, cache=False, fastmath=False)
def pow_exact(a: Any, b: Any) -> Any:
    """`a ** b` for floats, compiled without fastmath and called, not inlined in Numba IR
    (that would give it the caller's flags): a fastmath caller's `afn` lets LLVM rewrite
    pow(x, n + 0.5) as powi(x, n) * sqrt(x) and pow(x, 0.5) as sqrt(x), NaN where NumPy
    has inf or 0 (x = 0, +-inf)."""
    return a ** b


@njit(inline="always", nogil=True, cache=False)
def maximum_f(a: Any, b: Any) -> Any:
    """NumPy's float maximum: a NaN in either, else `a` only when greater, so equal values
    give `b` (maximum(0.0, -0.0) is -0.0, maximum(-0.0, 0.0) is 0.0); Numba's np.maximum
    gives `a` there (a ReLU maximum(x, 0.0) of x = -0.0 gave -0.0, 1 / it -inf)."""
    return a if (a > b or a != a) else b


@njit(inline="always", nogil=True, cache=False)
def minimum_f(a: Any, b: Any) -> Any:
    """NumPy's float minimum (see maximum_f): equal values give `b`."""
    return a if (a < b or a != a) else b


@njit(inline="always", nogil=True, cache=False)
def int_pow(a: Any, b: Any) -> Any:
    """NumPy's signed integer `a ** b`: a negative exponent is an error, where Numba's
    own power gives 0 or 1 (2 ** -1, 1 ** -1)."""
    if b < 0:
        raise ValueError("Integers to negative integer powers are not allowed.")
    return a ** b


@njit(inline="always", nogil=True, cache=False)
def floordiv_i64(a: Any, b: Any) -> Any:
    """NumPy's int64 `a // b`: `a // -1` is `-a`, which wraps (INT_MIN // -1 is INT_MIN);
    Numba's own `//` gives 0 there. Division by zero stays Numba's (0, as NumPy's)."""
    return -a if b == -1 else a // b


@njit(inline="always", nogil=True, cache=False)
def add_i64(a: Any, b: Any) -> Any:
    """NumPy's i64 `a + b`, wrapping. Numba marks signed arithmetic `nsw` (overflow
    cannot happen), so LLVM folded `x + 1 > x` to true at the largest i64; as u64 the
    same bits come out, with no such promise."""
    return np.int64(np.uint64(a) + np.uint64(b))


@njit(inline="always", nogil=True, cache=False)
def sub_i64(a: Any, b: Any) -> Any:
    """NumPy's i64 `a - b`, wrapping (see add_i64)."""
    return np.int64(np.uint64(a) - np.uint64(b))


@njit(inline="always", nogil=True, cache=False)
def mul_i64(a: Any, b: Any) -> Any:
    """NumPy's i64 `a * b`, wrapping (see add_i64): `(x * 2) // 2 == x` was always true."""
    return np.int64(np.uint64(a) * np.uint64(b))


@njit(inline="always", nogil=True, cache=False)
def shl_np(a: Any, b: Any) -> Any:
    """NumPy's `a << b`: 0 when the count is negative or at least 64 (LLVM's shl gives
    poison there; counts of 32..63 on narrower types are computed in 64 bits and wrap
    to 0 when narrowed, as NumPy's)."""
    return a << b if b >= 0 and b < 64 else a ^ a


@njit(inline="always", nogil=True, cache=False)
def shr_np(a: Any, b: Any) -> Any:
    """NumPy's `a >> b`: a count that is negative or at least 64 gives the sign (0 or -1)."""
    if b >= 0 and b < 64:
        return a >> b
    return a ^ a if a >= 0 else ~(a ^ a)


@njit(inline="always", nogil=True, cache=False)
def cmp_int_exact(a: Any, b: Any) -> Any:
    """-1, 0 or 1 as a is below, equal to or above b, exactly, for one unsigned 64-bit and
    one signed integer (NumPy 2 compares them exactly; through float64, as their common
    dtype, 2**53 + 1 == 2**53). Only the signed one can be negative."""
    if a < 0:
        return -1
    if b < 0:
        return 1
    ua, ub = np.uint64(a), np.uint64(b)
    return -1 if ua < ub else (1 if ua > ub else 0)


@njit(inline="always", nogil=True, cache=False)
def cdiv_np(a: Any, b: Any, one: Any) -> Any:
    """NumPy's complex `a / b` (Smith's method): Numba's raises ZeroDivisionError for
    b = 0, where NumPy gives inf or NaN parts (`1 / z` at z = 0 is inf + NaN j). `one`
    is 1 in the parts' float type (a literal 1.0 would compute c64 quotients in f64)."""
    ar, ai, br, bi = a.real, a.imag, b.real, b.imag
    abr, abi = abs(br), abs(bi)
    if abr >= abi:
        if abr == 0 and abi == 0:
            return complex(ar / abr, ai / abr)
        rat = bi / br
        scl = one / (br + bi * rat)
        return complex((ar + ai * rat) * scl, (ai - ar * rat) * scl)
    rat = br / bi
    scl = one / (bi + br * rat)
    return complex((ar * rat + ai) * scl, (ai * rat - ar) * scl)


@njit(inline="always", nogil=True, cache=False)
def cexp_np(z: Any) -> Any:
    """NumPy's complex exp keeps a zero imaginary part (exp(1000 + 0j) is inf + 0j;
    Numba's gives inf + NaN j from inf * sin(0))."""
    if z.imag == 0:
        return complex(np.exp(z.real), z.imag)
    return np.exp(z)


_HUGE = 7.446288774449766e307  # parts from here on are scaled down before squaring
_TINY = 2.0 ** -1000  # parts both below this are scaled up (subnormal sums lose bits)


@njit(inline="always", nogil=True, cache=False)
def csqrt_np(z: Any) -> Any:
    """C99's csqrt, as NumPy computes it, in f64: Numba's loses half the imaginary part
    for parts near the largest float (sqrt(1e308 + 1e308j)); special values as C99 says."""
    a, b = z.real, z.imag
    if a == 0.0 and b == 0.0:
        return complex(0.0, b)
    if np.isinf(b):
        return complex(np.inf, b)
    if np.isnan(a):
        return complex(a, (b - b) / (b - b))
    if np.isinf(a):
        if a < 0:
            return complex(abs(b - b), np.copysign(np.inf, b))
        return complex(a, np.copysign(b - b, b))
    scale = 1.0
    if abs(a) >= _HUGE or abs(b) >= _HUGE:
        a, b, scale = a * 0.25, b * 0.25, 2.0
    elif abs(a) < _TINY and abs(b) < _TINY:
        a, b, scale = a * 2.0 ** 54, b * 2.0 ** 54, 2.0 ** -27
    if a >= 0:
        t = np.sqrt((a + np.hypot(a, b)) * 0.5)
        return complex(t * scale, b / (2.0 * t) * scale)
    t = np.sqrt((np.hypot(a, b) - a) * 0.5)
    return complex(abs(b) / (2.0 * t) * scale, np.copysign(t, b) * scale)


@njit(inline="always", nogil=True, cache=False)
def clog_np(z: Any) -> Any:
    """NumPy's complex log in f64: Numba's takes log(|z|) of a subnormal |z| (few bits
    left: log(1e-320 + 1e-320j) 1.3e-4 off) and of an |z| that overflows; scaled here."""
    a, b = abs(z.real), abs(z.imag)
    m = max(a, b)
    if m < _TINY and m > 0:
        r = np.log(np.hypot(a * 2.0 ** 54, b * 2.0 ** 54)) - 54 * np.log(2.0)
    elif m > 2.0 ** 1000 and not np.isinf(m):
        r = np.log(np.hypot(a * 0.25, b * 0.25)) + 2 * np.log(2.0)
    else:
        r = np.log(np.hypot(a, b))
    return complex(r, np.arctan2(z.imag, z.real))


_TWO63 = 9223372036854775808.0


@njit(inline="always", nogil=True, cache=False)
def f2u64(x: Any) -> Any:
    """NumPy's float -> u64 on x86-64, the sequence C compilers emit: below 2^63 (NaN and
    negatives too: -200.0 is 2^64 - 200, NaN 2^63) a signed conversion, from 2^63 on 2^63
    less with the top bit set."""
    if x >= _TWO63:
        return np.uint64(np.int64(x - _TWO63)) ^ np.uint64(9223372036854775808)
    return np.uint64(np.int64(x))
