using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using System.Security.Cryptography;
using System.Text;

namespace MLNetRank.Torch
{
    /// <summary>
    /// Makes TorchSharp's native library load where the program runs, and says clearly when no TorchSharp backend
    /// package is there.
    /// <para>
    /// TorchSharp 0.107's <c>libLibTorchSharp.so</c> records a requirement on the <c>GLIBCXX_3.4.32</c> symbol version
    /// (for a symbol it never binds). Debian 12 and Ubuntu 22.04 ship a libstdc++ without that version, so the library
    /// refuses to load there. The build target <c>MLNetRank.TorchSharpLinuxFix.targets</c> (imported by NuGet users
    /// through <c>buildTransitive</c>) adapts the copy in a build's output folder, but only on the build machine and
    /// only for builds: a Polyglot notebook or <c>dotnet run app.cs</c> loads the copy in the NuGet cache, and a build
    /// made on a newer distribution and deployed to Debian 12 carries an unadapted copy. <see cref="Prepare()"/> makes
    /// the same decision at run time, in the running process: on Linux, when the system <c>libstdc++.so.6</c> lacks
    /// <c>GLIBCXX_3.4.32</c> and the <c>libLibTorchSharp.so</c> TorchSharp would load still requires it, it writes a
    /// copy with that one requirement marked weak (<c>VER_FLG_WEAK</c>) to
    /// <c>$XDG_CACHE_HOME/mlnetrank/torchsharp/&lt;hash&gt;/</c> (default <c>~/.cache</c>; written to a temporary
    /// file and renamed, so a torn copy is never used), loads libtorch and that copy, and points TorchSharp's
    /// <c>LibTorchSharp</c> imports at it. The NuGet cache and the output folder are never written. Nothing happens on
    /// other systems, where libstdc++ has the version, where the library was already adapted at build time, or when
    /// the environment variable <c>MLNETRANK_TORCHSHARP_LINUX_FIX</c> is <c>0</c>, <c>off</c> or <c>false</c>.
    /// </para>
    /// <para>
    /// The multi-task trainer calls it before it touches TorchSharp. Code that uses TorchSharp directly before any
    /// MLNetRank trainer (a notebook cell calling <c>torch.randn</c>, say) should call it first.
    /// </para>
    /// </summary>
    public static class TorchSharpNative
    {
        /// <summary>Environment variable that turns the run-time adaptation off.</summary>
        public const string EnvironmentVariable = "MLNETRANK_TORCHSHARP_LINUX_FIX";

        /// <summary>The symbol version TorchSharp 0.107 requires and older libstdc++ lacks.</summary>
        internal const string GlibcxxVersion = "GLIBCXX_3.4.32";

        private static readonly object Gate = new();
        private static string? _outcome;
        private static IntPtr _handle;

        /// <summary>True when this process loads an adapted copy of <c>libLibTorchSharp.so</c> made by this class.</summary>
        public static bool Applied { get; private set; }

        /// <summary>Does what is needed once per process (later calls return the first outcome) and returns what was
        /// done, in one sentence. Call it before the first use of TorchSharp.</summary>
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
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or BadImageFormatException or ArgumentException or IndexOutOfRangeException)
                {
                    _outcome = $"TorchSharp's native library left as it is ({e.GetType().Name}: {e.Message})";
                }
                log?.Invoke(_outcome);
                return _outcome;
            }
        }

        /// <summary>
        /// Loads TorchSharp's CPU backend (after <see cref="Prepare()"/>) and turns TorchSharp's failure to find one into
        /// an error that names the package to add.
        /// </summary>
        /// <exception cref="InvalidOperationException">No TorchSharp backend package could be loaded.</exception>
        public static void EnsureBackend()
        {
            Prepare();
            Exception? error = null;
            try
            {
                TorchSharp.torch.InitializeDeviceType(TorchSharp.DeviceType.CPU);
                return;
            }
            catch (Exception e) when (e is NotSupportedException or DllNotFoundException or InvalidOperationException or TypeInitializationException or EntryPointNotFoundException)
            {
                error = e;
            }
            throw new InvalidOperationException(
                "MLNetRank.Torch could not load TorchSharp's native backend. MLNetRank.Torch references the managed TorchSharp " +
                "package only: add a backend package to your application, for CPU `dotnet add package TorchSharp-cpu --version 0.107.0` " +
                "(in a notebook: #r \"nuget: TorchSharp-cpu, 0.107.0\"), or a CUDA backend of the same TorchSharp version. " +
                $"Native library adaptation: {_outcome}. TorchSharp said: {FirstLine(error.Message)}", error);
        }

        private static string FirstLine(string s)
        {
            int i = s.IndexOfAny(new[] { '\n', '\r' });
            return i < 0 ? s : s[..i];
        }

        internal static bool IsOptOut(string? value) => value?.Trim().ToLowerInvariant() is "0" or "off" or "false";

        private static string PrepareCore()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
                return "TorchSharp's native library needs no adaptation on this system";
            if (IsOptOut(Environment.GetEnvironmentVariable(EnvironmentVariable)))
                return $"TorchSharp's native library left as it is ({EnvironmentVariable} is set)";
            string? sysLib = SystemLibStdCxx();
            if (sysLib is null)
                return "no system libstdc++.so.6 found; TorchSharp's native library left as it is";
            if (Contains(File.ReadAllBytes(sysLib), Encoding.ASCII.GetBytes(GlibcxxVersion + "\0")))
                return $"{sysLib} provides {GlibcxxVersion}; TorchSharp's native library needs no adaptation";

            string rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
            var (libTorchSharp, libTorchDir) = Locate(rid);
            if (libTorchSharp is null || libTorchDir is null)
                return "no TorchSharp backend (libtorch_cpu.so) found beside the application (or, for a notebook, in the NuGet packages folder); TorchSharp's native library left as it is";

            byte[] original = File.ReadAllBytes(libTorchSharp);
            switch (WeakenVersionRequirement(original, GlibcxxVersion))
            {
                case WeakenResult.NotRequired:
                    return $"{libTorchSharp} does not require {GlibcxxVersion}; left as it is";
                case WeakenResult.AlreadyWeak:
                    return $"{libTorchSharp} was already adapted (at build time); left as it is";
            }
            // 'original' now holds the adapted bytes
            string copy = CachedCopy(libTorchSharp, original);

            // libtorch first, from its own folder (its RUNPATH $ORIGIN finds libc10 and libgomp there); the adapted copy's
            // DT_NEEDED entries (libtorch.so, libc10.so, libtorch_cpu.so) then match these by soname.
            NativeLibrary.Load(Path.Combine(libTorchDir, "libtorch_cpu.so"));
            NativeLibrary.Load(Path.Combine(libTorchDir, "libtorch.so"));
            _handle = NativeLibrary.Load(copy);
            var torchSharp = typeof(TorchSharp.torch).Assembly;
            try
            {
                NativeLibrary.SetDllImportResolver(torchSharp, Resolve);
            }
            catch (InvalidOperationException)
            {
                // someone already set TorchSharp's resolver: answer only when default probing fails
                var alc = AssemblyLoadContext.GetLoadContext(torchSharp) ?? AssemblyLoadContext.Default;
                alc.ResolvingUnmanagedDll += (asm, name) => asm == torchSharp ? Resolve(name, asm, null) : IntPtr.Zero;
            }
            Applied = true;
            return $"{sysLib} lacks {GlibcxxVersion}: loaded an adapted copy of {libTorchSharp} from {copy}";
        }

        private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
            name is "LibTorchSharp" or "libLibTorchSharp" or "libLibTorchSharp.so" ? _handle : IntPtr.Zero;

        /// <summary>The first libstdc++.so.6 in the standard search folders (the one the loader picks), as the build target does.</summary>
        internal static string? SystemLibStdCxx()
        {
            string[] dirs = { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
                              "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib" };
            return dirs.Select(d => Path.Combine(d, "libstdc++.so.6")).FirstOrDefault(File.Exists);
        }

        /// <summary>
        /// Where the libLibTorchSharp.so TorchSharp would load is, and the folder of libtorch_cpu.so: beside the application
        /// first (a build's output), then the NuGet packages folder (notebooks, file-based apps).
        /// </summary>
        private static (string? LibTorchSharp, string? LibTorchDir) Locate(string rid)
        {
            var appDirs = new[] { Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native"), AppContext.BaseDirectory };
            foreach (var d in appDirs)
                if (File.Exists(Path.Combine(d, "libLibTorchSharp.so")) && File.Exists(Path.Combine(d, "libtorch_cpu.so")))
                    return (Path.Combine(d, "libLibTorchSharp.so"), d);

            string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
                ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            var torchSharp = typeof(TorchSharp.torch).Assembly;
            string? version = torchSharp.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0];
            // TorchSharp.dll itself may sit in the NuGet cache (notebooks): its package folder is two levels up
            string? location = string.IsNullOrEmpty(torchSharp.Location) ? null : Path.GetDirectoryName(torchSharp.Location);
            // Only where TorchSharp.dll itself comes from the NuGet packages folder (a notebook, F# Interactive): an
            // application carries its native libraries beside it, and one without a backend package gets the clear error
            // of EnsureBackend rather than whatever libtorch happens to be in this machine's cache.
            if (location is null || version is null ||
                !Path.GetFullPath(location).StartsWith(Path.GetFullPath(Path.Combine(packages, "torchsharp")) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                return (null, null);
            string? lib = new[] { Path.GetFullPath(Path.Combine(location, "..", "..", "runtimes", rid, "native", "libLibTorchSharp.so")) }
                .FirstOrDefault(File.Exists);
            string libtorchRoot = Path.Combine(packages, $"libtorch-cpu-{rid}");
            string? libtorchDir = !Directory.Exists(libtorchRoot) ? null : Directory.GetDirectories(libtorchRoot)
                .Select(v => Path.Combine(v, "runtimes", rid, "native"))
                .Where(d => File.Exists(Path.Combine(d, "libtorch_cpu.so")) && File.Exists(Path.Combine(d, "libtorch.so")))
                .OrderByDescending(d => Version.TryParse(Path.GetFileName(Path.GetFullPath(Path.Combine(d, "..", "..", ".."))), out var v) ? v : new Version(0, 0))
                .FirstOrDefault();
            return (lib, libtorchDir);
        }

        private static string CachedCopy(string source, byte[] adapted)
        {
            string cacheRoot = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x
                ? x : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            string hash = Convert.ToHexString(SHA256.HashData(adapted))[..16].ToLowerInvariant();
            string dir = Path.Combine(cacheRoot, "mlnetrank", "torchsharp", hash);
            string target = Path.Combine(dir, Path.GetFileName(source));
            if (File.Exists(target) && SHA256.HashData(File.ReadAllBytes(target)).AsSpan().SequenceEqual(SHA256.HashData(adapted)))
                return target;
            Directory.CreateDirectory(dir);
            string tmp = target + "." + Environment.ProcessId + ".tmp";
            File.WriteAllBytes(tmp, adapted);
            File.Move(tmp, target, overwrite: true);
            return target;
        }

        internal enum WeakenResult { NotRequired, AlreadyWeak, Weakened }

        /// <summary>
        /// In an ELF64 little-endian image, sets VER_FLG_WEAK on the .gnu.version_r entry for <paramref name="version"/>
        /// (in place); the same edit as the build target's.
        /// </summary>
        internal static WeakenResult WeakenVersionRequirement(byte[] b, string version)
        {
            if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2 || b[5] != 1)
                throw new BadImageFormatException("not a 64-bit little-endian ELF file");
            long shoff = BitConverter.ToInt64(b, 0x28);
            int shentsize = BitConverter.ToUInt16(b, 0x3A), shnum = BitConverter.ToUInt16(b, 0x3C);
            var result = WeakenResult.NotRequired;
            for (int s = 0; s < shnum; s++)
            {
                long sh = shoff + (long)s * shentsize;
                if (BitConverter.ToUInt32(b, (int)sh + 4) != 0x6ffffffe) // SHT_GNU_verneed
                    continue;
                long off = BitConverter.ToInt64(b, (int)sh + 0x18);
                int link = (int)BitConverter.ToUInt32(b, (int)sh + 0x28);
                long strOff = BitConverter.ToInt64(b, (int)(shoff + (long)link * shentsize) + 0x18);
                long vn = off;
                while (true)
                {
                    int cnt = BitConverter.ToUInt16(b, (int)vn + 2);
                    long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                    for (int a = 0; a < cnt; a++)
                    {
                        int nameOff = (int)(strOff + BitConverter.ToUInt32(b, (int)aux + 8)), end = nameOff;
                        while (b[end] != 0)
                            end++;
                        if (Encoding.ASCII.GetString(b, nameOff, end - nameOff) == version)
                        {
                            ushort flags = BitConverter.ToUInt16(b, (int)aux + 4);
                            if ((flags & 0x2) == 0)
                            {
                                flags |= 0x2;
                                b[aux + 4] = (byte)(flags & 0xff);
                                b[aux + 5] = (byte)(flags >> 8);
                                result = WeakenResult.Weakened;
                            }
                            else if (result == WeakenResult.NotRequired)
                                result = WeakenResult.AlreadyWeak;
                        }
                        uint next = BitConverter.ToUInt32(b, (int)aux + 12);
                        if (next == 0)
                            break;
                        aux += next;
                    }
                    uint vnext = BitConverter.ToUInt32(b, (int)vn + 12);
                    if (vnext == 0)
                        break;
                    vn += vnext;
                }
            }
            return result;
        }

        private static bool Contains(byte[] hay, byte[] pat) => hay.AsSpan().IndexOf(pat) >= 0;
    }
}
