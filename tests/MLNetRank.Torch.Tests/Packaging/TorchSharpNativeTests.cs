using System;
using System.IO;
using System.Linq;
using MLNetRank.Torch;
using Xunit;

namespace MLNetRank.Torch.Tests.Packaging
{
    public class TorchSharpNativeTests
    {
        private static string? ShippedLibTorchSharp()
        {
            string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
                ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            var f = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
            return File.Exists(f) ? f : null;
        }

        [Fact]
        public void WeakensTheGlibcxxRequirementOfTheShippedLibraryOnceAndOnlyThat()
        {
            var path = ShippedLibTorchSharp();
            if (path is null)
                return; // not a Linux x64 restore: nothing to check here
            byte[] original = File.ReadAllBytes(path);
            byte[] b = (byte[])original.Clone();
            Assert.Equal(TorchSharpNative.WeakenResult.Weakened, TorchSharpNative.WeakenVersionRequirement(b, TorchSharpNative.GlibcxxVersion));
            // exactly one byte changes (the flags of that one vernaux entry), by the VER_FLG_WEAK bit
            var diffs = Enumerable.Range(0, b.Length).Where(i => b[i] != original[i]).ToArray();
            Assert.Single(diffs);
            Assert.Equal(0x2, b[diffs[0]] ^ original[diffs[0]]);
            Assert.Equal(TorchSharpNative.WeakenResult.AlreadyWeak, TorchSharpNative.WeakenVersionRequirement(b, TorchSharpNative.GlibcxxVersion));
            // a version the library does not require is reported as such and changes nothing
            byte[] c = (byte[])original.Clone();
            Assert.Equal(TorchSharpNative.WeakenResult.NotRequired, TorchSharpNative.WeakenVersionRequirement(c, "GLIBCXX_9.9.99"));
            Assert.Equal(original, c);
        }

        [Fact]
        public void RefusesWhatIsNotAnElfImage()
        {
            Assert.Throws<BadImageFormatException>(() => TorchSharpNative.WeakenVersionRequirement(new byte[128], TorchSharpNative.GlibcxxVersion));
        }

        [Fact]
        public void OptOutValues()
        {
            Assert.True(TorchSharpNative.IsOptOut("0"));
            Assert.True(TorchSharpNative.IsOptOut(" OFF "));
            Assert.False(TorchSharpNative.IsOptOut("1"));
            Assert.False(TorchSharpNative.IsOptOut(null));
        }

        [Fact]
        public void BackendLoadsInThisTestProcess()
        {
            // this project references TorchSharp-cpu: the backend check passes and reports what was done
            TorchSharpNative.EnsureBackend();
            Assert.False(string.IsNullOrWhiteSpace(TorchSharpNative.Prepare()));
        }
    }
}
