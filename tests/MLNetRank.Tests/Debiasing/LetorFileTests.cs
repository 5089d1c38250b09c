using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Simulation.Datasets;
using Xunit;

namespace MLNetRank.Tests.Debiasing
{
    /// <summary>Standard LETOR files (<c>label qid:N index:value ... # comment</c>) load without a <c>.query</c> file.</summary>
    public sealed class LetorFileTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "letor-" + Guid.NewGuid().ToString("N"));

        public LetorFileTests() => Directory.CreateDirectory(_dir);

        public void Dispose() => Directory.Delete(_dir, true);

        private string Write(string name, string text)
        {
            var path = Path.Combine(_dir, name);
            File.WriteAllText(path, text);
            return path;
        }

        [Fact]
        public void QidTokens_GiveTheQueries_CommentsAreIgnored()
        {
            var path = Write("train.txt",
                "2 qid:10 1:0.5 3:1.0 #docid = GX001\n" +
                "0 qid:10 1:0.1 2:0.2 #docid = GX002\n" +
                "1 qid:10 2:0.7\n" +
                "\n" +
                "1 qid:7 1:0.9 #docid = GX100 inc = 1 prob = 0.3\n" +
                "0 qid:7 3:0.4\n");
            var view = LambdarankDataset.Load(new MLContext(1), path);
            Assert.Equal(new[] { 2f, 0f, 1f, 1f, 0f }, view.GetColumn<float>("Label").ToArray());
            Assert.Equal(new[] { 0, 0, 0, 1, 1 }, view.GetColumn<int>("QueryIndex").ToArray());
            Assert.Equal(new[] { 0, 1, 2, 0, 1 }, view.GetColumn<int>("DocumentIndex").ToArray());
            Assert.Equal(new uint[] { 1, 1, 1, 2, 2 }, view.GetColumn<uint>("GroupId").ToArray());
            var x = view.GetColumn<float[]>("Features").ToArray();
            Assert.Equal(new[] { 0.5f, 0f, 1f }, x[0]);
            Assert.Equal(new[] { 0f, 0f, 0.4f }, x[4]);
        }

        [Fact]
        public void AQueryFile_WinsOverQids_WhenItExists()
        {
            var path = Write("q.txt", "1 qid:1 1:1\n0 qid:1 1:0\n1 qid:2 1:1\n");
            Write("q.txt.query", "1\n2\n");
            var view = LambdarankDataset.Load(null, path);
            Assert.Equal(new[] { 0, 1, 1 }, view.GetColumn<int>("QueryIndex").ToArray());
        }

        [Fact]
        public void BadQids_AreErrorsNamingTheLine()
        {
            var split = Assert.Throws<FormatException>(() => LambdarankDataset.Load(null, Write("split.txt", "1 qid:1 1:1\n0 qid:2 1:0\n1 qid:1 1:1\n")));
            Assert.Contains("line 3", split.Message);
            Assert.Contains("contiguous", split.Message);
            var missing = Assert.Throws<FormatException>(() => LambdarankDataset.Load(null, Write("missing.txt", "1 qid:1 1:1\n0 1:0\n")));
            Assert.Contains("line 2", missing.Message);
            Assert.Contains("qid", missing.Message);
            var none = Assert.Throws<FileNotFoundException>(() => LambdarankDataset.Load(null, Write("none.txt", "1 1:1\n")));
            Assert.Contains("qid", none.Message);
        }
    }
}
