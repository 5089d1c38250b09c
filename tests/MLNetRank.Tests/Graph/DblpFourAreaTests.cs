using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Simulation.Datasets;
using Xunit;

namespace MLNetRank.Tests.Graph
{
    public class DblpFourAreaTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "dblp-" + Guid.NewGuid().ToString("N"));

        public DblpFourAreaTests()
        {
            // A tiny folder in the raw layout of MAGNN's data/raw/DBLP (tab-separated, no header, CRLF in one file).
            Directory.CreateDirectory(_dir);
            File.WriteAllText(Path.Combine(_dir, "author_label.txt"), "10\t0\tAlice Smith\n11\t3\tBob Jones\n12\t1\tCarol\n");
            File.WriteAllText(Path.Combine(_dir, "paper_author.txt"), "100\t10\r\n100\t11\r\n101\t12\r\n102\t99\r\n");
            File.WriteAllText(Path.Combine(_dir, "paper_conf.txt"), "100\t1\n101\t2\n102\t1\n");
            File.WriteAllText(Path.Combine(_dir, "paper_term.txt"), "100\t500\n100\t501\n101\t500\n102\t502\n\n");
            File.WriteAllText(Path.Combine(_dir, "paper.txt"), "100\tA title\n");
        }

        public void Dispose() => Directory.Delete(_dir, true);

        [Fact]
        public void LoadsTheRawLayoutKeepingLabelledAuthorsLikeMagnn()
        {
            var d = DblpFourArea.Load(_dir);
            Assert.Equal(new uint[] { 10, 11, 12 }, d.AuthorLabels.Select(a => a.AuthorId));
            Assert.Equal(new uint[] { 0, 3, 1 }, d.AuthorLabels.Select(a => a.Label));
            // Paper 102 has only the unlabelled author 99: dropped with its conference and term edges.
            Assert.Equal(3, d.AuthorCount);
            Assert.Equal(2, d.PaperCount);
            Assert.Equal(2, d.ConferenceCount);
            Assert.Equal(2, d.TermCount);
            Assert.Equal(3 + 2 + 3, d.Edges.Count);
            Assert.All(d.Edges, e => Assert.Equal("Paper", e.SourceType));
            Assert.Equal(new[] { "Author", "Author", "Author", "Conf", "Conf", "Term", "Term", "Term" }, d.Edges.Select(e => e.TargetType));
            var all = DblpFourArea.Load(_dir, labelledAuthorsOnly: false);
            Assert.Equal(4, all.AuthorCount);
            Assert.Equal(3, all.PaperCount);
            Assert.Equal(4 + 3 + 4, all.Edges.Count);
        }

        [Fact]
        public void EdgesFeedMetapath2Vec()
        {
            var ml = new MLContext(1);
            var d = DblpFourArea.Load(_dir);
            var edges = d.GetEdges(ml);
            Assert.Equal(Microsoft.ML.Data.NumberDataViewType.UInt32, edges.Schema["SourceId"].Type);
            var labels = d.GetAuthorLabels(ml);
            var o = GraphTestUtil.Small("Author-Paper-Conf-Paper-Author");
            var model = ml.Ranker().Transforms.Metapath2Vec(edges, o, new InputOutputColumnPair("AuthorEmbedding", "AuthorId")).Fit(labels);
            var vectors = model.Transform(labels).GetColumn<float[]>("AuthorEmbedding").ToArray();
            Assert.Equal(3, vectors.Length);
            Assert.All(vectors, v => Assert.Contains(v, x => x != 0));
            Assert.Equal(new[] { "Author", "Conf", "Paper", "Term" }, model.NodeTypes);
        }

        [Fact]
        public void MissingFilesAndBadLinesAreClearErrors()
        {
            var missingDir = Assert.Throws<DirectoryNotFoundException>(() => DblpFourArea.Load(_dir + "-absent"));
            Assert.Contains("data/raw/DBLP", missingDir.Message);
            File.Delete(Path.Combine(_dir, "paper_term.txt"));
            var missing = Assert.Throws<FileNotFoundException>(() => DblpFourArea.Load(_dir));
            Assert.Contains("paper_term.txt", missing.Message);
            File.WriteAllText(Path.Combine(_dir, "paper_term.txt"), "100\t500\n100 501\n");
            var bad = Assert.Throws<InvalidDataException>(() => DblpFourArea.Load(_dir));
            Assert.Contains("paper_term.txt line 2", bad.Message);
            File.WriteAllText(Path.Combine(_dir, "paper_term.txt"), "100\tx1\n");
            Assert.Contains("not a non-negative integer", Assert.Throws<InvalidDataException>(() => DblpFourArea.Load(_dir)).Message);
            File.WriteAllText(Path.Combine(_dir, "paper_term.txt"), "100\t500\n");
            File.WriteAllText(Path.Combine(_dir, "author_label.txt"), "10\t7\n");
            Assert.Contains("0-3", Assert.Throws<InvalidDataException>(() => DblpFourArea.Load(_dir)).Message);
        }
    }
}
