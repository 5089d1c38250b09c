using System.Diagnostics;

namespace MLNetRank.Benchmarks
{
    /// <summary>
    /// How every Python peer (PyTorch, gensim, xgboost, scikit-learn from Debian's packages) is started: Debian's
    /// <c>/usr/bin/python3</c>, output redirected, and OpenBLAS left to pick its own kernel for this CPU. Some machines
    /// set <c>OPENBLAS_CORETYPE</c> (and <c>OPENBLAS_L2_SIZE</c>) to an older core for old OpenBLAS builds; measured
    /// here, Debian's OpenBLAS 0.3.21 then runs PyTorch's matrix products at about half the speed of the kernel it
    /// picks itself (Cooperlake on an AVX-512 AMD EPYC, correct results), which would flatter MLNetRank.
    /// </summary>
    internal static class PythonPeer
    {
        public const string Python = "/usr/bin/python3";

        /// <summary>A start description for <c>/usr/bin/python3</c> with <paramref name="arguments"/>.</summary>
        public static ProcessStartInfo StartInfo(string arguments = "")
        {
            var psi = new ProcessStartInfo(Python, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.Environment.Remove("OPENBLAS_CORETYPE");
            psi.Environment.Remove("OPENBLAS_L2_SIZE");
            return psi;
        }
    }
}
