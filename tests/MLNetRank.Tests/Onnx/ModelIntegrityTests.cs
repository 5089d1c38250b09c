using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Onnx;
using MLNetRank.Serving;
using Xunit;

namespace MLNetRank.Tests.Onnx
{
    /// <summary>Damaged model zips: lengths bounded before allocation, and a digest that catches changed network bytes.</summary>
    public sealed class ModelIntegrityTests : IDisposable
    {
        private readonly List<string> _files = new();

        public void Dispose()
        {
            foreach (var f in _files)
                File.Delete(f);
        }

        private string TempZip()
        {
            var path = Path.Combine(Path.GetTempPath(), "mlnetrank-integrity-" + Guid.NewGuid().ToString("N") + ".zip");
            _files.Add(path);
            return path;
        }

        private (string Zip, IDataView Data) Saved()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Rows.Make(20, 1));
            string zip = TempZip();
            using var model = ml.Ranker().Transforms.ApplyOnnxNetwork(TinyRanker.Create(2).Build()).Fit(data);
            ml.Model.Save(model, data.Schema, zip);
            return (zip, data);
        }

        /// <summary>A copy of <paramref name="zip"/> whose <c>OnnxModel</c> entry is rewritten by <paramref name="edit"/>
        /// (the zip written anew, so every CRC is valid).</summary>
        private string Rewritten(string zip, Func<byte[], byte[]> edit)
        {
            string copy = TempZip();
            File.Copy(zip, copy, overwrite: true);
            using var archive = ZipFile.Open(copy, ZipArchiveMode.Update);
            var entry = archive.Entries.Single(e => e.Name == "OnnxModel");
            byte[] content;
            using (var s = entry.Open())
            using (var ms = new MemoryStream())
            {
                s.CopyTo(ms);
                content = ms.ToArray();
            }
            string name = entry.FullName;
            entry.Delete();
            using (var s = archive.CreateEntry(name).Open())
                s.Write(edit(content));
            return copy;
        }

        [Fact]
        public void EveryLengthOfADamagedOnnxEntryIsBoundedBeforeAnythingIsAllocated()
        {
            var (zip, _) = Saved();
            static byte[] WithLength(byte[] c, int length)
            {
                var d = (byte[])c.Clone();
                BitConverter.TryWriteBytes(d.AsSpan(0, 4), length);
                return d;
            }
            foreach (int junk in new[] { -5, int.MaxValue - 7, 2_000_000_000, 0 })
            {
                var bad = Rewritten(zip, c => WithLength(c, junk));
                var e = Assert.Throws<InvalidDataException>(() => RequestScorer.Open(bad));
                Assert.Contains("damaged", e.Message);
                Assert.Contains($"announces {junk} ONNX bytes", e.Message);
                Assert.Throws<InvalidDataException>(() => SavedModelIntegrity.Verify(bad));
            }
            // an entry too short for its length prefix, and one whose network bytes are junk
            Assert.Contains("too short", Assert.Throws<InvalidDataException>(() => RequestScorer.Open(Rewritten(zip, _ => new byte[] { 1, 2 }))).Message);
            var junkNetwork = Rewritten(zip, c => WithLength(Enumerable.Repeat((byte)0xFF, c.Length).ToArray(), c.Length - 4));
            Assert.Throws<InvalidDataException>(() => RequestScorer.Open(junkNetwork));
        }

        [Fact]
        public void SavedNetworksCarryADigestAndABitFlipIsCaught()
        {
            var (zip, data) = Saved();
            var report = SavedModelIntegrity.Verify(zip);
            Assert.Single(report.VerifiedNetworks);
            Assert.Empty(report.NetworksWithoutDigest);

            // flip one bit in the middle of the network (in its weights): the zip is rewritten, so its CRCs are valid
            var flipped = Rewritten(zip, c =>
            {
                var d = (byte[])c.Clone();
                d[d.Length / 2] ^= 0x04;
                return d;
            });
            // plain ML.NET loads it and scores (wrong): that is what the digest is for
            var ml = new MLContext(1);
            var plain = ml.Model.Load(flipped, out _);
            Assert.NotEqual(Rows.Column(ml.Model.Load(zip, out _).Transform(data), "ClickScore"), Rows.Column(plain.Transform(data), "ClickScore"));
            (plain as IDisposable)?.Dispose();

            var e = Assert.Throws<InvalidDataException>(() => SavedModelIntegrity.Verify(flipped));
            Assert.Contains("OnnxModel", e.Message);
            Assert.Contains("SHA-256", e.Message);
            Assert.Contains("damaged", Assert.Throws<InvalidDataException>(() => RequestScorer.Open(flipped)).Message);

            // the digest entry itself damaged: not mistaken for a network without a digest
            var keyFlipped = Rewritten(zip, c =>
            {
                var d = (byte[])c.Clone();
                int at = d.AsSpan().LastIndexOf(System.Text.Encoding.ASCII.GetBytes(OnnxDigest.Key));
                d[at + 3] ^= 0x01;
                return d;
            });
            Assert.Throws<InvalidDataException>(() => SavedModelIntegrity.Verify(keyFlipped));
        }

        [Fact]
        public void ANetworkWithoutADigestIsReportedNotRefused()
        {
            // bytes written by another tool: no digest; the scorer opens them and Verify lists them as unchecked
            var net = TinyRanker.Create(3).Build();
            Assert.False(OnnxDigest.Verify(net, "plain"));
            var sealedNet = OnnxDigest.Seal(net);
            Assert.True(OnnxDigest.Verify(sealedNet, "sealed"));
            Assert.Equal(sealedNet, OnnxDigest.Seal(sealedNet));          // sealing twice changes nothing
            var (zip, _) = Saved();
            var unsealed = Rewritten(zip, c =>
            {
                // the saved network without its digest field (the last 86 bytes: tag, length, key and hex value)
                var saved = c.AsSpan(4).ToArray();
                var plainNet = saved[..^86];
                Assert.False(OnnxDigest.Verify(plainNet, "plain"));
                Assert.Equal(saved, OnnxDigest.Seal(plainNet));
                var d = new byte[plainNet.Length + 4];
                BitConverter.TryWriteBytes(d.AsSpan(0, 4), plainNet.Length);
                plainNet.CopyTo(d, 4);
                return d;
            });
            var report = SavedModelIntegrity.Verify(unsealed);
            Assert.Empty(report.VerifiedNetworks);
            Assert.Single(report.NetworksWithoutDigest);
            using var scorer = RequestScorer.Open(unsealed);
            Assert.Equal(1, scorer.NetworkCount);
        }
    }
}
