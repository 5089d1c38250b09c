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
    /// Opt-in speed-up for AMD (non-Intel) CPUs. libtorch's CPU build (the TorchSharp-cpu packages) links Intel oneMKL for
    /// its float matrix products, and oneMKL picks its kernels by CPU <em>vendor</em> before CPU features: on an AMD CPU it
    /// runs a generic path even when the CPU has AVX2 or AVX-512 (measured on an AMD EPYC with AVX-512: 92 GFLOPS for a
    /// [256 x 148] x [148 x 256] product, against 202 GFLOPS once oneMKL takes its AVX-512 path; the multi-task trainer about
    /// 1.4x faster; on an AVX2-only EPYC about no gain: 9,858 against 9,317-10,021 samples/s).
    /// <para>
    /// Nothing happens unless asked for: call <see cref="Prepare()"/> (calling it is the consent), set
    /// <c>MultiTaskEstimator.Options.EnableMklCpuDispatch</c>, or set the environment variable <c>MLNETRANK_MKL_CPU_DISPATCH=1</c>
    /// (<c>0</c>, <c>off</c> or <c>false</c> there refuses it, whatever the code asks). Then, on Linux x64 with a
    /// non-Intel CPU, oneMKL's vendor query (<c>mkl_serv_intel_cpu_true</c>, exported by <c>libtorch_cpu.so</c>) is made to
    /// answer "yes" in this process only, so that oneMKL dispatches on the CPU's features (the effect of the common
    /// <c>LD_PRELOAD</c> shim). Before writing, the function's bytes are checked against the code this fix knows (read the
    /// cached answer, return it if set, else compare CPUID's vendor with "GenuineIntel"); any other code, alignment or
    /// mapping leaves it alone. The outcome goes to <c>MLContext.Log</c> at warning level.
    /// </para>
    /// <para>
    /// What it does, as security tools see it: one <c>mprotect</c> call makes the 4 KiB page of libtorch's text segment
    /// holding that function writable and executable (read + write + execute), one 8-byte store rewrites the function's
    /// first 6 bytes as <c>mov eax, 1; ret</c>, and a second <c>mprotect</c> restores read + execute. No file changes. SELinux
    /// <c>execmod</c> / PaX <c>MPROTECT</c> policies refuse the first call (the fix then says so and does nothing); EDR
    /// products may report a "W+X page" or "code modification in a loaded module" event for the process. It runs once per
    /// process, before libtorch's first matrix product (oneMKL caches its choice then): the multi-task trainer calls it when
    /// opted in; an application that runs its own TorchSharp code first should call <see cref="Prepare()"/> at start-up.
    /// </para>
    /// </summary>
    public static unsafe class MklCpuDispatch
    {
        /// <summary>Environment variable: <c>1</c>, <c>on</c> or <c>true</c> opts in (for trainers that call the fix when
        /// asked); <c>0</c>, <c>off</c> or <c>false</c> refuses it even when code asks.</summary>
        public const string EnvironmentVariable = "MLNETRANK_MKL_CPU_DISPATCH";

        private const string VendorQuery = "mkl_serv_intel_cpu_true";
        private static readonly object Gate = new();
        private static string? _outcome;

        /// <summary>True when the vendor query was answered "yes" by this class in this process.</summary>
        public static bool Applied { get; private set; }

        /// <summary>Applies the fix (calling this is the opt-in; the environment variable set to <c>0</c> still refuses it)
        /// once per process (later calls return the first outcome) and returns what was done, in one sentence.</summary>
        public static string Prepare() => Prepare(null);

        /// <summary>Whether a trainer should call the fix: opted in by its option or by the environment variable, and not
        /// refused by the environment variable.</summary>
        internal static bool Requested(bool option, string? environment)
            => !IsOptOut(environment) && (option || IsOptIn(environment));

        /// <summary>The trainer's entry: applies the fix when <see cref="Requested"/> (its outcome to <paramref name="warning"/>,
        /// the first time); otherwise changes nothing and, on a CPU it would help, tells <paramref name="info"/> once how to opt in.</summary>
        internal static void PrepareIfRequested(bool option, Action<string> warning, Action<string> info)
        {
            if (Requested(option, Environment.GetEnvironmentVariable(EnvironmentVariable)))
            {
                bool first;
                lock (Gate)
                    first = _outcome is null;
                string outcome = Prepare(null);
                if (first)
                    warning(outcome);
                return;
            }
            if (Interlocked.Exchange(ref _hinted, 1) == 0 && _outcome is null && OperatingSystem.IsLinux()
                && RuntimeInformation.ProcessArchitecture == Architecture.X64 && CpuVendor() is { } v && v != "GenuineIntel")
                info($"oneMKL CPU dispatch left alone (not opted in): on this {v} CPU oneMKL takes its generic kernels; " +
                     $"MultiTaskEstimator.Options.EnableMklCpuDispatch = true (or {EnvironmentVariable}=1) lets it use AVX2/AVX-512 " +
                     "(about 1.4x training speed on AVX-512, about none on AVX2 only) by rewriting one libtorch function in memory.");
        }

        private static int _hinted;

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

        /// <summary>Whether <paramref name="value"/> (of <see cref="EnvironmentVariable"/>) opts in.</summary>
        internal static bool IsOptIn(string? value) =>
            value?.Trim().ToLowerInvariant() is "1" or "on" or "true";

        /// <summary>Null when <paramref name="code"/> (the function's bytes, its ELF size) is the vendor query this fix knows:
        /// <c>mov eax, [rip + cached]; test eax, eax; js compute; ret</c>, then a CPUID whose vendor is compared with
        /// "Genu" "ineI" "ntel"; else why not.</summary>
        internal static string? CheckCode(ReadOnlySpan<byte> code)
        {
            if (code.Length < 11)
                return $"{code.Length} bytes, shorter than the expected code";
            if (code[0] != 0x8B || code[1] != 0x05 || !code.Slice(6, 5).SequenceEqual(new byte[] { 0x85, 0xC0, 0x78, 0x01, 0xC3 }))
                return $"its first bytes {Convert.ToHexString(code[..Math.Min(11, code.Length)])} are not the expected 8B05........85C07801C3 (cached answer, test, ret)";
            if (code.IndexOf(new byte[] { 0x0F, 0xA2 }) < 0)
                return "it has no CPUID instruction";
            if (code.IndexOf(new byte[] { 0x47, 0x65, 0x6E, 0x75 }) < 0 || code.IndexOf(new byte[] { 0x69, 0x6E, 0x65, 0x49 }) < 0 || code.IndexOf(new byte[] { 0x6E, 0x74, 0x65, 0x6C }) < 0)
                return "it does not compare the CPU vendor with GenuineIntel";
            return null;
        }

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
                return $"oneMKL CPU dispatch left alone ({EnvironmentVariable} refuses it).";
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
            if (size > 4096)
                return $"oneMKL CPU dispatch left alone ({VendorQuery} is {size} bytes, not the function this fix knows).";
            string? code = CheckCode(new ReadOnlySpan<byte>((void*)fn, (int)size));
            if (code is not null)
                return $"oneMKL CPU dispatch left alone ({VendorQuery}: {code}).";
            string? mapping = CheckMapping(mappings, fn, path);
            if (mapping is not null)
                return $"oneMKL CPU dispatch left alone ({mapping}).";
            string? failure = Overwrite(fn);
            if (failure is not null)
                return $"oneMKL CPU dispatch left alone ({failure}).";
            if (query() != 1)
                return "oneMKL CPU dispatch: the vendor query was patched but does not answer 1; left as is.";
            Applied = true;
            return $"oneMKL CPU dispatch: this {vendor} CPU is handled like an Intel one, so oneMKL's matrix products use the CPU's AVX2/AVX-512 kernels, unless oneMKL already ran in this process before. Done by rewriting {VendorQuery} in libtorch_cpu.so's memory through a briefly writable + executable page (security tools may report it; set {EnvironmentVariable}=0 to refuse).";
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
