using System;
using System.Collections.Concurrent;
using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Layers
{
    /// <summary>
    /// The library's one way to hand a number to a TorchSharp call: a <see cref="Scalar"/> that stays alive for the whole
    /// process, so no garbage collection can free it while libtorch reads it.
    /// <para>Why: TorchSharp 0.107 turns a number into a <see cref="Scalar"/> implicitly (<c>1 - y</c>, <c>x * 0.5f</c>,
    /// <c>clamp(1e-7)</c>, and inside TorchSharp itself: <c>a + b</c> on two tensors is <c>add(b, 1)</c>,
    /// <c>square()</c> is <c>pow(2)</c>), passes the Scalar's raw native handle to the P/Invoke, and nothing keeps the
    /// managed object alive meanwhile. A garbage collection started by ANY thread during the call can run the Scalar's
    /// finalizer, which frees the native scalar while libtorch reads it: "Expected false to be true" in
    /// <c>c10::Scalar::toFloat</c>, "Unknown scalar type", or a silently wrong value. (Tensors do not have this problem
    /// inside a <c>torch.NewDisposeScope()</c>: the scope holds every tensor made in it until it is disposed; Scalars are
    /// never registered with a scope.)</para>
    /// <para>The idiom: <c>x.mul(Scalars.Of(0.5f))</c> for a number fixed by the code or a model's configuration (the same
    /// C# type as the literal it replaces, so the op and its result are bit-identical), <see cref="Plus(Tensor, Tensor)"/> for
    /// <c>a + b</c>, <see cref="RSub"/> for <c>s - x</c>. A number that changes every step (an optimizer's bias
    /// correction) is a <c>using var s = v.ToScalar();</c> local instead, disposed after the call. The test
    /// <c>ScalarLifetimeGuardTests</c> scans this project's source and fails on any other form.</para>
    /// <para>The cache holds one Scalar per distinct (type, value) for the life of the process: the literals of this
    /// library and the configuration values of the models trained in the process (a few per model).</para>
    /// </summary>
    internal static class Scalars
    {
        private static readonly ConcurrentDictionary<(TypeCode, long), Scalar> Cache = new();

        /// <summary>1 as TorchSharp's own default <c>alpha</c> (an <see cref="int"/>).</summary>
        public static readonly Scalar One = Of(1);

        /// <summary>A process-lifetime Scalar of this <see cref="int"/> (as the implicit conversion would make it).</summary>
        public static Scalar Of(int value) => Cache.GetOrAdd((TypeCode.Int32, value), static k => ((int)k.Item2).ToScalar());

        /// <summary>A process-lifetime Scalar of this <see cref="long"/>.</summary>
        public static Scalar Of(long value) => Cache.GetOrAdd((TypeCode.Int64, value), static k => k.Item2.ToScalar());

        /// <summary>A process-lifetime Scalar of this <see cref="float"/> (keyed by its bits: -0f and NaNs stay apart).</summary>
        public static Scalar Of(float value)
            => Cache.GetOrAdd((TypeCode.Single, BitConverter.SingleToInt32Bits(value)), static k => BitConverter.Int32BitsToSingle((int)k.Item2).ToScalar());

        /// <summary>A process-lifetime Scalar of this <see cref="double"/> (keyed by its bits).</summary>
        public static Scalar Of(double value)
            => Cache.GetOrAdd((TypeCode.Double, BitConverter.DoubleToInt64Bits(value)), static k => BitConverter.Int64BitsToDouble(k.Item2).ToScalar());

        /// <summary><c>a + b</c> as TorchSharp computes it (<c>add(b, alpha: 1)</c>), with a kept alpha.</summary>
        public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

        /// <summary><c>a.add_(b)</c> (in place) with a kept alpha.</summary>
        public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

        /// <summary><c>s - x</c> as TorchSharp computes it (<c>x.negative().add(s, alpha: 1)</c>), with kept Scalars.</summary>
        public static Tensor RSub(this Tensor x, Scalar s) => x.negative().add(s, One);

        /// <summary><c>x + s</c> (<c>add(s, alpha: 1)</c>) with kept Scalars.</summary>
        public static Tensor Plus(this Tensor x, Scalar s) => x.add(s, One);

        /// <summary><c>x.square()</c> as TorchSharp computes it (<c>pow(2)</c>), with a kept exponent.</summary>
        public static Tensor Squared(this Tensor x) => x.pow(Of(2));

        /// <summary><c>nn.functional.softplus(x)</c> (beta 1, threshold 20), the same native call with kept Scalars.</summary>
        public static Tensor Softplus(Tensor x) => SoftplusEntry.Core(x, Of(1.0), Of(20.0));

        // TorchSharp 0.107's only public softplus entry points (Tensor.softplus(double, double), nn.functional.softplus and the
        // Softplus module) convert beta and threshold to temporary Scalars; its private overload that takes Scalars is the same
        // native call (THSTensor_softplus) with Scalars we keep. Looked up on first use only, so that a TorchSharp without it
        // fails the networks that use softplus (uncertainty weighting, the ensemble's calibration), with this message.
        private static class SoftplusEntry
        {
            public static readonly Func<Tensor, Scalar, Scalar, Tensor> Core =
                (typeof(Tensor).GetMethod("softplus1", BindingFlags.NonPublic | BindingFlags.Instance, new[] { typeof(Scalar), typeof(Scalar) })
                 ?? throw new MissingMethodException("TorchSharp.torch.Tensor.softplus1(Scalar, Scalar) is gone: this MLNetRank.Torch was built for TorchSharp 0.107."))
                .CreateDelegate<Func<Tensor, Scalar, Scalar, Tensor>>();
        }
    }
}
