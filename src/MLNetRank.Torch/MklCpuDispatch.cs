using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Threading;
using static TorchSharp.torch;

namespace MLNetRank.Torch
{
    /// <summary>
    /// libtorch's CPU build (the TorchSharp-cpu packages) links Intel oneMKL for its float matrix products, and oneMKL
    /// picks its kernels by CPU <em>vendor</em> before CPU features: on an AMD CPU it runs a generic path even when the
    /// CPU has AVX2 or AVX-512 (measured on an AMD EPYC with AVX-512: 92 GFLOPS for a [256 x 148] x [148 x 256] product,
    /// against 202 GFLOPS once oneMKL takes its AVX-512 path; the multi-task trainer about 1.4x faster).
    /// <para>
    /// On Linux x64 with a non-Intel CPU, <see cref="Prepare()"/> makes oneMKL's vendor query
    /// (<c>mkl_serv_intel_cpu_true</c>, exported by <c>libtorch_cpu.so</c>) answer "yes", in this process only, so
    /// that oneMKL dispatches on the CPU's features (the same effect as the common <c>LD_PRELOAD</c> shim). It changes
    /// no file, runs once per process, before the first training, and does nothing on Intel CPUs, on other systems,
    /// when the libtorch has no oneMKL, or when the environment variable <c>MLNETRANK_MKL_CPU_DISPATCH</c> is
    /// <c>0</c>, <c>off</c> or <c>false</c>. oneMKL caches its choice at its first matrix product, so it takes effect
    /// only when it runs before any other libtorch computation in the process: the multi-task trainer calls it before
    /// it trains; an application that runs its own TorchSharp code first should call it at start-up.
    /// </para>
    /// </summary>
    public static unsafe class MklCpuDispatch
    {
        /// <summary>Environment variable that turns the fix off.</summary>
        public const string EnvironmentVariable = "MLNETRANK_MKL_CPU_DISPATCH";

        private const string VendorQuery = "mkl_serv_intel_cpu_true";
        private static readonly object Gate = new();
        private static string? _outcome;

        /// <summary>True when the vendor query was answered "yes" by this class in this process.</summary>
        public static bool Applied { get; private set; }

        /// <summary>Applies the fix once per process (later calls return the first outcome) and returns what was done,
        /// in one sentence.</summary>
        public static string Prepare() => Prepare(null);

        /// <summary>As <see cref="Prepare()"/>; <paramref name="log"/> receives the outcome the first time.</summary>
        internal static string Prepare(Action<string>? log)
        {
            lock (Gate)
            {
                if (_outcome is not null)
                    return _outcome;
                try
                {
                    _outcome = PrepareCore();
                }
                catch (Exception e)
                {
                    // a best-effort speed-up: whatever fails here (libtorch not loadable, /proc not readable, ...) leaves
                    // oneMKL as it is; training then reports libtorch's own errors
                    _outcome = $"oneMKL CPU dispatch left alone ({e.GetType().Name}: {e.Message})";
                }
                log?.Invoke(_outcome);
                return _outcome;
            }
        }

        /// <summary>Whether <paramref name="value"/> (of <see cref="EnvironmentVariable"/>) turns the fix off.</summary>
        internal static bool IsOptOut(string? value) =>
            value?.Trim().ToLowerInvariant() is "0" or "off" or "false";

        /// <summary>The CPU vendor string of CPUID leaf 0 ("GenuineIntel", "AuthenticAMD", ...), or null off x86.</summary>
        internal static string? CpuVendor()
        {
            if (!X86Base.IsSupported)
                return null;
            var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
            Span<byte> b = stackalloc byte[12];
            BitConverter.TryWriteBytes(b[..4], ebx);
            BitConverter.TryWriteBytes(b[4..8], edx);
            BitConverter.TryWriteBytes(b[8..], ecx);
            return System.Text.Encoding.ASCII.GetString(b);
        }

        private static string PrepareCore()
        {
            if (IsOptOut(Environment.GetEnvironmentVariable(EnvironmentVariable)))
                return $"oneMKL CPU dispatch left alone ({EnvironmentVariable} is off).";
            if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
                return "oneMKL CPU dispatch left alone (only Linux x64 is handled).";
            string? vendor = CpuVendor();
            if (vendor is null or "GenuineIntel")
                return $"oneMKL CPU dispatch left alone (CPU vendor {vendor ?? "unknown"}: oneMKL already picks its kernels by features).";

            InitializeDeviceType(TorchSharp.DeviceType.CPU);       // loads libtorch
            var mappings = ReadMappings();
            string? path = mappings.Select(m => m.Path).FirstOrDefault(p => Path.GetFileName(p).StartsWith("libtorch_cpu.so", StringComparison.Ordinal));
            if (path is null)
                return "oneMKL CPU dispatch left alone (libtorch_cpu.so is not loaded in this process).";
            IntPtr lib = NativeLibrary.Load(path);
            if (!NativeLibrary.TryGetExport(lib, VendorQuery, out IntPtr fn))
                return "oneMKL CPU dispatch left alone (this libtorch has no oneMKL).";
            var query = (delegate* unmanaged<int>)fn;
            if (query() == 1)
                return "oneMKL CPU dispatch left alone (oneMKL already treats this CPU as supported).";
            long size = SymbolSize(fn);
            if (size < 8)
                return $"oneMKL CPU dispatch left alone ({VendorQuery} is {size} bytes, not a function this fix knows).";
            if (((long)fn & 7) != 0)
                return $"oneMKL CPU dispatch left alone ({VendorQuery} is not 8-byte aligned: it cannot be rewritten in one store).";
            var entry = new ReadOnlySpan<byte>((void*)fn, 4);
            if (entry.SequenceEqual(new byte[] { 0xF3, 0x0F, 0x1E, 0xFA }))
                return $"oneMKL CPU dispatch left alone ({VendorQuery} starts with endbr64, which this fix would overwrite).";
            string? mapping = CheckMapping(mappings, fn, path);
            if (mapping is not null)
                return $"oneMKL CPU dispatch left alone ({mapping}).";
            string? failure = Overwrite(fn);
            if (failure is not null)
                return $"oneMKL CPU dispatch left alone ({failure}).";
            if (query() != 1)
                return "oneMKL CPU dispatch: the vendor query was patched but does not answer 1; left as is.";
            Applied = true;
            return $"oneMKL CPU dispatch: this {vendor} CPU is handled like an Intel one, so oneMKL's matrix products use the CPU's AVX2/AVX-512 kernels, unless oneMKL already ran in this process before (set {EnvironmentVariable}=0 to keep oneMKL's default).";
        }

        /// <summary>One line of <c>/proc/self/maps</c>: address range, permissions (e.g. <c>r-xp</c>), file ("" if none).</summary>
        private readonly record struct Mapping(ulong Low, ulong High, string Permissions, string Path);

        private static List<Mapping> ReadMappings()
        {
            var result = new List<Mapping>();
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                int dash = line.IndexOf('-'), space = line.IndexOf(' ');
                if (dash < 0 || space < dash)
                    continue;
                int slash = line.IndexOf('/');
                result.Add(new Mapping(Convert.ToUInt64(line[..dash], 16), Convert.ToUInt64(line[(dash + 1)..space], 16),
                    line.Substring(space + 1, 4), slash < 0 ? "" : line[slash..]));
            }
            return result;
        }

        /// <summary>st_size of the ELF symbol at <paramref name="address"/> (glibc's dladdr1 with RTLD_DL_SYMENT), or
        /// -1 when it cannot be read.</summary>
        private static long SymbolSize(IntPtr address)
        {
            IntPtr dladdr1 = IntPtr.Zero;
            foreach (var libc in new[] { "libc.so.6", "libdl.so.2" })
                if (NativeLibrary.TryLoad(libc, out var h) && NativeLibrary.TryGetExport(h, "dladdr1", out dladdr1))
                    break;
            if (dladdr1 == IntPtr.Zero)
                return -1;
            byte* info = stackalloc byte[32];            // Dl_info: 4 pointers
            IntPtr sym = IntPtr.Zero;
            const int RTLD_DL_SYMENT = 1;
            int ok = ((delegate* unmanaged<IntPtr, byte*, IntPtr*, int, int>)dladdr1)(address, info, &sym, RTLD_DL_SYMENT);
            if (ok == 0 || sym == IntPtr.Zero)
                return -1;
            return *(long*)((byte*)sym + 16);           // Elf64_Sym: name 4, info 1, other 1, shndx 2, value 8, size 8
        }

        /// <summary>Null when the 8 bytes at <paramref name="address"/> lie in one read + execute, private mapping of
        /// <paramref name="library"/> (the protection <see cref="Overwrite"/> restores), else why not.</summary>
        private static string? CheckMapping(List<Mapping> mappings, IntPtr address, string library)
        {
            ulong a = (ulong)address;
            foreach (var m in mappings)
            {
                if (a < m.Low || a >= m.High)
                    continue;
                if (m.Permissions != "r-xp" || m.Path != library)
                    return $"its code is mapped '{m.Permissions}' from '{m.Path}', not read + execute from {Path.GetFileName(library)}";
                return a + 8 <= m.High ? null : "its first 8 bytes cross a mapping boundary";
            }
            return "its address is not in /proc/self/maps";
        }

        /// <summary>Rewrites the first 6 bytes of the function at <paramref name="address"/> (8-byte aligned) as
        /// <c>mov eax, 1; ret</c> in one atomic 8-byte store (bytes 6-7 kept), on its text page made writable for the
        /// store and read + execute again after; null on success, else why not.</summary>
        private static string? Overwrite(IntPtr address)
        {
            if (!NativeLibrary.TryLoad("libc.so.6", out var libc) || !NativeLibrary.TryGetExport(libc, "mprotect", out var mprotectPtr))
                return "mprotect not found";
            var mprotect = (delegate* unmanaged<IntPtr, nuint, int, int>)mprotectPtr;
            const int PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
            long pageSize = Environment.SystemPageSize;
            long start = (long)address & ~(pageSize - 1);
            long end = ((long)address + 8 + pageSize - 1) & ~(pageSize - 1);
            var len = (nuint)(end - start);
            if (mprotect((IntPtr)start, len, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
            {
                int errno = Marshal.GetLastSystemError();
                return $"the code page cannot be made writable (errno {errno})";
            }
            long* word = (long*)address;
            long old = Volatile.Read(ref *word);
            // little-endian: B8 01 00 00 00 C3 in bytes 0-5, the original bytes 6-7 kept
            long patched = (old & unchecked((long)0xFFFF_0000_0000_0000UL)) | 0x0000_C300_0000_01B8L;
            Interlocked.Exchange(ref *word, patched);
            if (mprotect((IntPtr)start, len, PROT_READ | PROT_EXEC) != 0)
            {
                int errno = Marshal.GetLastSystemError();
                return $"the code page was patched but its read + execute protection could not be restored (errno {errno})";
            }
            return null;
        }
    }
}
