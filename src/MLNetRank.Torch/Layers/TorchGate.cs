using System;
using System.Threading;

namespace MLNetRank.Torch.Layers
{
    /// <summary>
    /// One process-wide gate around MLNetRank's TorchSharp work and the managed work that may run beside it.
    /// <para>Why: libtorch's random generator and thread count are process-wide, so trainings in one process run one at a
    /// time to stay deterministic for their seeds. And TorchSharp 0.107 hands temporary <c>Scalar</c>s (made implicitly from
    /// numbers, also inside TorchSharp itself, e.g. <c>square()</c> is <c>pow(2)</c>) to native calls without keeping them
    /// alive: a garbage collection started by another thread while libtorch runs can finalize such a Scalar mid-call
    /// ("Expected false to be true" in <c>c10::Scalar::toFloat</c>). The batch read-ahead thread is such a thread, so it
    /// reads rows only while it holds this gate, and the trainer holds the gate for all its TorchSharp work, letting go
    /// only while it waits for a batch or for the read-ahead to stop.</para>
    /// </summary>
    internal static class TorchGate
    {
        /// <summary>The gate (a monitor; the trainer holds it once, not recursively).</summary>
        public static readonly object Sync = new();

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
    }
}
