using System.Runtime.CompilerServices;

namespace MLNetRank.Torch.Tests
{
    internal static class TorchSetup
    {
        /// <summary>oneMKL picks its kernels at its first matrix product, and some tests use libtorch before any
        /// training: the CPU dispatch fix is applied when the test assembly loads, as an application would at start-up.</summary>
        [ModuleInitializer]
        internal static void Initialize() => MklCpuDispatch.Prepare();
    }
}
