using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MLNetRank.Serving.Native
{
    /// <summary>
    /// The vector operations the native transformer kernel is written with, as static members of a value type, so that
    /// the JIT compiles one specialised copy of the kernel per width (<see cref="Lanes16"/>: AVX-512, <see cref="Lanes8"/>:
    /// AVX2, <see cref="Lanes1"/>: plain scalar code for other hardware). Every lane runs the same sequence of operations
    /// (fused multiply-adds included), so a lane's result does not depend on the width; only horizontal reductions
    /// (<see cref="Sum"/>, <see cref="MaxAcross"/>) add in another order. Max is the instruction's own (<c>vmaxps</c>,
    /// <c>MaxNative</c>): the IEEE-compliant <c>Vector256.Max</c> costs eight instructions on AVX2, and the kernel's
    /// operands are finite (or −∞ for masked keys), where the two agree.
    /// </summary>
    internal interface ILanes<TV> where TV : struct
    {
        static abstract int Width { get; }
        static abstract TV Zero { get; }
        static abstract TV Splat(float x);
        static abstract TV Load(ref float p, nuint i);
        static abstract void Store(TV v, ref float p, nuint i);
        static abstract TV Add(TV a, TV b);
        static abstract TV Sub(TV a, TV b);
        static abstract TV Mul(TV a, TV b);
        static abstract TV Div(TV a, TV b);
        static abstract TV Max(TV a, TV b);
        static abstract TV Sqrt(TV a);
        /// <summary>a·b + c, one rounding.</summary>
        static abstract TV Fma(TV a, TV b, TV c);
        /// <summary>max(a, 0).</summary>
        static abstract TV Relu(TV a);
        /// <summary>exp(x) for x ≤ 0 (max-subtracted softmax scores; below −87, and −∞, give 0).</summary>
        static abstract TV Exp(TV x);
        /// <summary>exp(max(x, −87)) for finite x ≤ 0: <see cref="Exp"/> without the test for the underflow (3 operations fewer).</summary>
        static abstract TV ExpClamped(TV x);
        static abstract float Sum(TV v);
        static abstract float MaxAcross(TV v);
    }

    /// <summary>The polynomial exp of the kernel: 2^n · p(r), r = x − n·ln 2 in [−ln2/2, ln2/2], p of degree 6
    /// (relative error ~2e-7, checked against <see cref="Math.Exp"/> in the tests); the constants of every width.</summary>
    internal static class ExpPoly
    {
        public const float Floor = -87f, Log2E = 1.44269504f, Ln2Hi = -0.693145752f, Ln2Lo = -1.42860677e-6f;
        public const float C6 = 1f / 720, C5 = 1f / 120, C4 = 1f / 24, C3 = 1f / 6, C2 = 0.5f;

        /// <summary>The scalar form (the same operations as the vector forms).</summary>
        public static float Exp(float x)
        {
            if (!(x >= Floor))
                return 0f;
            float n = MathF.Round(x * Log2E);
            float r = MathF.FusedMultiplyAdd(n, Ln2Hi, x);
            r = MathF.FusedMultiplyAdd(n, Ln2Lo, r);
            float p = C6;
            p = MathF.FusedMultiplyAdd(p, r, C5);
            p = MathF.FusedMultiplyAdd(p, r, C4);
            p = MathF.FusedMultiplyAdd(p, r, C3);
            p = MathF.FusedMultiplyAdd(p, r, C2);
            p = MathF.FusedMultiplyAdd(p, r, 1f);
            p = MathF.FusedMultiplyAdd(p, r, 1f);
            return p * BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
        }
    }

    /// <summary>16 lanes (one AVX-512 register).</summary>
    internal readonly struct Lanes16 : ILanes<Vector512<float>>
    {
        public static int Width => 16;
        public static Vector512<float> Zero => Vector512<float>.Zero;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float x) => Vector512.Create(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(ref float p, nuint i) => Vector512.LoadUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> v, ref float p, nuint i) => v.StoreUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Div(Vector512<float> a, Vector512<float> b) => a / b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sqrt(Vector512<float> a) => Vector512.Sqrt(a);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Relu(Vector512<float> a) => Vector512.MaxNative(a, Vector512<float>.Zero);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Exp(Vector512<float> x)
        {
            // the clamped polynomial, then 0 below the floor and for NaN
            var under = Vector512.LessThan(x, Vector512.Create(ExpPoly.Floor)) | ~Vector512.Equals(x, x);
            return Vector512.AndNot(ExpClamped(x), under);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> ExpClamped(Vector512<float> x)
        {
            x = Vector512.MaxNative(x, Vector512.Create(ExpPoly.Floor));
            var n = Vector512.Round(x * Vector512.Create(ExpPoly.Log2E));
            var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(ExpPoly.Ln2Hi), x);
            r = Vector512.FusedMultiplyAdd(n, Vector512.Create(ExpPoly.Ln2Lo), r);
            var p = Vector512.Create(ExpPoly.C6);
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpPoly.C5));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpPoly.C4));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpPoly.C3));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpPoly.C2));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f));
            return p * Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(127), 23).AsSingle();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> v) => Lanes8.Sum(v.GetLower() + v.GetUpper());
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MaxAcross(Vector512<float> v) => Lanes8.MaxAcross(Vector256.MaxNative(v.GetLower(), v.GetUpper()));
    }

    /// <summary>8 lanes (one AVX2 register).</summary>
    internal readonly struct Lanes8 : ILanes<Vector256<float>>
    {
        public static int Width => 8;
        public static Vector256<float> Zero => Vector256<float>.Zero;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float x) => Vector256.Create(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(ref float p, nuint i) => Vector256.LoadUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> v, ref float p, nuint i) => v.StoreUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Div(Vector256<float> a, Vector256<float> b) => a / b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sqrt(Vector256<float> a) => Vector256.Sqrt(a);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Relu(Vector256<float> a) => Vector256.MaxNative(a, Vector256<float>.Zero);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Exp(Vector256<float> x)
        {
            // the clamped polynomial, then 0 below the floor and for NaN
            var under = Vector256.LessThan(x, Vector256.Create(ExpPoly.Floor)) | ~Vector256.Equals(x, x);
            return Vector256.AndNot(ExpClamped(x), under);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> ExpClamped(Vector256<float> x)
        {
            x = Vector256.MaxNative(x, Vector256.Create(ExpPoly.Floor));
            var n = Vector256.Round(x * Vector256.Create(ExpPoly.Log2E));
            var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(ExpPoly.Ln2Hi), x);
            r = Vector256.FusedMultiplyAdd(n, Vector256.Create(ExpPoly.Ln2Lo), r);
            var p = Vector256.Create(ExpPoly.C6);
            p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpPoly.C5));
            p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpPoly.C4));
            p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpPoly.C3));
            p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpPoly.C2));
            p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f));
            p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f));
            return p * Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Sum(Vector256<float> v)
        {
            var a = v.GetLower() + v.GetUpper();
            return (a.GetElement(0) + a.GetElement(2)) + (a.GetElement(1) + a.GetElement(3));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float MaxAcross(Vector256<float> v)
        {
            var a = Vector128.MaxNative(v.GetLower(), v.GetUpper());
            return MathF.Max(MathF.Max(a.GetElement(0), a.GetElement(1)), MathF.Max(a.GetElement(2), a.GetElement(3)));
        }
    }

    /// <summary>Two AVX2 registers (16 lanes), for CPUs without AVX-512: the same 16-lane layout as <see cref="Lanes16"/>,
    /// so a broadcast weight or key serves both halves and the loops run once per 16 tokens.</summary>
    internal struct Pair256
    {
        public Vector256<float> Lo, Hi;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Pair256(Vector256<float> lo, Vector256<float> hi)
        {
            Lo = lo;
            Hi = hi;
        }
    }

    /// <summary>16 lanes as two AVX2 registers (<see cref="Pair256"/>).</summary>
    internal readonly struct Lanes8x2 : ILanes<Pair256>
    {
        public static int Width => 16;
        public static Pair256 Zero => default;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair256 Splat(float x) { var v = Vector256.Create(x); return new Pair256(v, v); }
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair256 Load(ref float p, nuint i) => new Pair256(Vector256.LoadUnsafe(ref p, i), Vector256.LoadUnsafe(ref p, i + 8));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Pair256 v, ref float p, nuint i) { v.Lo.StoreUnsafe(ref p, i); v.Hi.StoreUnsafe(ref p, i + 8); }
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair256 Add(Pair256 a, Pair256 b) => new Pair256(a.Lo + b.Lo, a.Hi + b.Hi);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair256 Sub(Pair256 a, Pair256 b) => new Pair256(a.Lo - b.Lo, a.Hi - b.Hi);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair256 Mul(Pair256 a, Pair256 b) => new Pair256(a.Lo * b.Lo, a.Hi * b.Hi);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair256 Div(Pair256 a, Pair256 b) => new Pair256(a.Lo / b.Lo, a.Hi / b.Hi);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair256 Max(Pair256 a, Pair256 b) => new Pair256(Vector256.MaxNative(a.Lo, b.Lo), Vector256.MaxNative(a.Hi, b.Hi));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair256 Sqrt(Pair256 a) => new Pair256(Vector256.Sqrt(a.Lo), Vector256.Sqrt(a.Hi));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair256 Fma(Pair256 a, Pair256 b, Pair256 c) => new Pair256(Vector256.FusedMultiplyAdd(a.Lo, b.Lo, c.Lo), Vector256.FusedMultiplyAdd(a.Hi, b.Hi, c.Hi));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair256 Relu(Pair256 a) => new Pair256(Vector256.MaxNative(a.Lo, Vector256<float>.Zero), Vector256.MaxNative(a.Hi, Vector256<float>.Zero));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair256 Exp(Pair256 x) => new Pair256(Lanes8.Exp(x.Lo), Lanes8.Exp(x.Hi));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair256 ExpClamped(Pair256 x) => new Pair256(Lanes8.ExpClamped(x.Lo), Lanes8.ExpClamped(x.Hi));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Pair256 v) => Lanes8.Sum(v.Lo + v.Hi);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MaxAcross(Pair256 v) => Lanes8.MaxAcross(Vector256.MaxNative(v.Lo, v.Hi));
    }

    /// <summary>1 lane: scalar code (hardware without AVX2), the same operations lane by lane.</summary>
    internal readonly struct Lanes1 : ILanes<float>
    {
        public static int Width => 1;
        public static float Zero => 0f;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Splat(float x) => x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Load(ref float p, nuint i) => Unsafe.Add(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float v, ref float p, nuint i) => Unsafe.Add(ref p, i) = v;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Add(float a, float b) => a + b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sub(float a, float b) => a - b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Mul(float a, float b) => a * b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Div(float a, float b) => a / b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Max(float a, float b) => a > b ? a : b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sqrt(float a) => MathF.Sqrt(a);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Fma(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Relu(float a) => a > 0f ? a : 0f;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Exp(float x) => ExpPoly.Exp(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float ExpClamped(float x) => ExpPoly.Exp(x > ExpPoly.Floor ? x : ExpPoly.Floor);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(float v) => v;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MaxAcross(float v) => v;
    }
}
