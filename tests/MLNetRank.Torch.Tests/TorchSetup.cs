using System.Runtime.CompilerServices;

namespace MLNetRank.Torch.Tests
{
    internal static class TorchSetup
    {
        /// <summary>oneMKL picks its kernels at its first matrix product, and some tests use libtorch before any
        /// training: the test assembly opts in to the CPU dispatch fix (an explicit <c>Prepare()</c> call is the consent) when
        /// it loads, as an application that wants it would at start-up, so the patched kernels are the ones tested.</summary>
        [ModuleInitializer]
        internal static void Initialize() => MklCpuDispatch.Prepare();
    }
}
