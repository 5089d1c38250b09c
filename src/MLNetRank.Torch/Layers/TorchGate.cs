using System;
using System.Threading;

namespace MLNetRank.Torch.Layers
{
    /// <summary>
    /// Process-wide gates around MLNetRank's TorchSharp training and the managed work that may run beside it.
    /// <para>Why: libtorch's random generator and thread count are process-wide, so trainings in one process run one at a
    /// time to stay deterministic for their seeds (<see cref="Training"/>). And TorchSharp 0.107 hands temporary
    /// <c>Scalar</c>s (made implicitly from numbers, also inside TorchSharp itself, e.g. <c>square()</c> is <c>pow(2)</c>)
    /// to native calls without keeping them alive: a garbage collection started by another thread while libtorch runs can
    /// finalize such a Scalar mid-call ("Expected false to be true" in <c>c10::Scalar::toFloat</c>). The batch read-ahead
    /// thread is such a thread (ML.NET cursors allocate), so it reads rows only while it holds <see cref="Sync"/>, and a
    /// trainer holds <see cref="Sync"/> for its TorchSharp work, letting go only (a) while it waits for a batch or for the
    /// read-ahead to stop and (b) around native calls that read no TorchSharp-owned Scalar: <c>backward()</c> (one call
    /// into libtorch's autograd engine, whose graph nodes hold their own copies of every Scalar they were built with) and
    /// the trainer's own optimizer step (<c>FlatOptimizer</c>, whose Scalars are created explicitly and disposed only after
    /// the call that reads them has returned). See <see cref="ReleasedFor"/>.</para>
    /// <para>Since session 7 the library's own TorchSharp code makes no temporary Scalar (<see cref="Scalars"/>; the test
    /// <c>ScalarLifetimeGuardTests</c> holds it), so a collection started by any thread, the application's included, no longer
    /// reaches it; <see cref="Sync"/> still keeps the read-ahead's collections away from user-written pooling code, which
    /// may not follow that rule.</para>
    /// <para>Lock order: <see cref="Training"/>, then <see cref="Sync"/>. A trainer holds <see cref="Training"/> for its
    /// whole run and never lets go of it, so letting go of <see cref="Sync"/> admits only row readers, never another
    /// training.</para>
    /// </summary>
    internal static class TorchGate
    {
        /// <summary>One TorchSharp training at a time per process (a monitor, taken before <see cref="Sync"/>).</summary>
        public static readonly object Training = new();

        /// <summary>The gate between TorchSharp work and row reading (a monitor; the trainer holds it once, not recursively).</summary>
        public static readonly object Sync = new();

        /// <summary>Runs <paramref name="run"/> holding both gates: a training that excludes every other training and,
        /// except where it lets go of <see cref="Sync"/>, every row reader.</summary>
        public static T Exclusive<T>(Func<T> run)
        {
            lock (Training)
                lock (Sync)
                    return run();
        }

        /// <summary>Runs <paramref name="wait"/> with the gate let go if this thread holds it, then takes it back.</summary>
        public static T Released<T>(Func<T> wait)
        {
            bool held = Monitor.IsEntered(Sync);
            if (held)
                Monitor.Exit(Sync);
            try
            {
                return wait();
            }
            finally
            {
                if (held)
                    Monitor.Enter(Sync);
            }
        }

        /// <summary>Runs <paramref name="wait"/> with the gate let go if this thread holds it, then takes it back.</summary>
        public static void Released(Action wait) => Released(() => { wait(); return 0; });

        /// <summary>
        /// Runs <paramref name="call"/> — one native TorchSharp call that reads no TorchSharp-owned Scalar (autograd's
        /// <c>backward()</c>, the flat optimizer's step) — with <see cref="Sync"/> let go, so the batch read-ahead can fill
        /// the next batch meanwhile. Only inside <see cref="Training"/> (another training could otherwise start), and only
        /// for such calls: a call that takes an implicit Scalar (any operator with a number, <c>clamp</c>, <c>pow</c>,
        /// TorchSharp's own optimizers) must run with the gate held.
        /// </summary>
        public static void ReleasedFor(Action call)
        {
            if (!Monitor.IsEntered(Training))
                throw new InvalidOperationException("TorchGate.ReleasedFor is for a training that holds TorchGate.Training.");
            Released(call);
        }
    }
}
