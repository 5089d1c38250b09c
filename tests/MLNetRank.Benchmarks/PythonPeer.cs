using System.Diagnostics;

namespace MLNetRank.Benchmarks
{
    /// <summary>
    /// How every Python peer (PyTorch, gensim, xgboost, scikit-learn from Debian's packages) is started: Debian's
    /// <c>/usr/bin/python3</c>, output redirected, and OpenBLAS left to pick its own kernel for this CPU. Some machines
    /// set <c>OPENBLAS_CORETYPE</c> (and <c>OPENBLAS_L2_SIZE</c>) to an older core for old OpenBLAS builds; measured
    /// here, Debian's OpenBLAS 0.3.21 then runs PyTorch's matrix products at about half the speed of the kernel it
    /// picks itself (Cooperlake on an AVX-512 AMD EPYC, correct results), which would flatter MLNetRank. To emulate an
    /// older CPU on purpose, <c>MLNETRANK_PEER_OPENBLAS_CORETYPE</c> (e.g. <c>Haswell</c>) sets the peer's kernel.
    /// </summary>
    internal static class PythonPeer
    {
        public const string Python = "/usr/bin/python3";

        /// <summary>A start description for <c>/usr/bin/python3</c> with <paramref name="arguments"/>; with
        /// <paramref name="threads"/>, the peer's thread pools are set: PyTorch's own (OpenMP) and MKL's to that many,
        /// OpenBLAS's to <paramref name="blasThreads"/> (default: the same), since <c>torch.set_num_threads</c> does not
        /// reach OpenBLAS's pool in Debian's build.</summary>
        public static ProcessStartInfo StartInfo(string arguments = "", int? threads = null, int? blasThreads = null)
        {
            var psi = new ProcessStartInfo(Python, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.Environment.Remove("OPENBLAS_CORETYPE");
            psi.Environment.Remove("OPENBLAS_L2_SIZE");
            // emulating an older CPU on purpose (e.g. MLNETRANK_PEER_OPENBLAS_CORETYPE=Haswell for AVX2): the peer's kernel is
            // named explicitly, and the bench prints the kernel OpenBLAS ran
            if (System.Environment.GetEnvironmentVariable("MLNETRANK_PEER_OPENBLAS_CORETYPE") is { Length: > 0 } core)
                psi.Environment["OPENBLAS_CORETYPE"] = core;
            if (threads is int t)
            {
                psi.Environment["OMP_NUM_THREADS"] = t.ToString(System.Globalization.CultureInfo.InvariantCulture);
                psi.Environment["MKL_NUM_THREADS"] = t.ToString(System.Globalization.CultureInfo.InvariantCulture);
                psi.Environment["OPENBLAS_NUM_THREADS"] = (blasThreads ?? t).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            return psi;
        }
    }

    /// <summary>How the fresh-process benchmarks start this program again (a child that loads a saved model with plain
    /// ML.NET): the same executable, or <c>dotnet</c> with this assembly when running under <c>dotnet</c>.</summary>
    internal static class BenchProcess
    {
        /// <summary>A start description for this program with <paramref name="arguments"/> (e.g. the bench name and its
        /// <c>--key value</c> options); standard output redirected when <paramref name="redirectOutput"/>.</summary>
        public static ProcessStartInfo Self(bool redirectOutput, params string[] arguments)
        {
            var psi = new ProcessStartInfo(System.Environment.ProcessPath!) { RedirectStandardOutput = redirectOutput, UseShellExecute = false };
            if (System.IO.Path.GetFileName(System.Environment.ProcessPath!) is "dotnet" or "dotnet.exe")
                psi.ArgumentList.Add(typeof(Program).Assembly.Location); // running under `dotnet`: pass the assembly
            foreach (var a in arguments)
                psi.ArgumentList.Add(a);
            return psi;
        }
    }
}
