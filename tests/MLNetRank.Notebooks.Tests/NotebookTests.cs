using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.ML;
using MLNetRank.TestSupport;
using Xunit;

namespace MLNetRank.Notebooks.Tests
{
    /// <summary>Every notebook in notebooks/ runs cell by cell and its results hold.</summary>
    public class NotebookTests
    {
        private readonly Xunit.Abstractions.ITestOutputHelper _output;

        public NotebookTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

        private static string Notebook(string name)
        {
            var root = TestData.RepoRoot() ?? throw new InvalidOperationException("repository root (MLNetRank.sln) not found above " + AppContext.BaseDirectory);
            return Path.Combine(root, "notebooks", name);
        }

        private static readonly System.Reflection.Assembly[] References =
        {
            typeof(MLContext).Assembly,
            typeof(Microsoft.ML.Data.TextLoader).Assembly,
            typeof(Microsoft.ML.Trainers.FastTree.FastTreeBinaryTrainer).Assembly,
            typeof(Microsoft.ML.Trainers.LightGbm.LightGbmBinaryTrainer).Assembly,
            typeof(Microsoft.ML.Transforms.ExpressionTransformer).Assembly,
            typeof(Microsoft.ML.IDataView).Assembly,
            typeof(RankerCatalog).Assembly,
            typeof(MLNetRank.Simulation.LiveStreamSimulator).Assembly,
        };

        [Fact]
        public void EveryNotebookIsCovered()
        {
            var root = TestData.RepoRoot()!;
            var notebooks = Directory.GetFiles(Path.Combine(root, "notebooks"), "*.ipynb").Select(Path.GetFileName).OrderBy(n => n).ToArray();
            Assert.Equal(new[] { "01-live-stream-ranking-v1.ipynb" }, notebooks);
        }

        [Fact]
        [Trait("Category", "Quality")]
        public async Task LiveStreamRankingV1_RunsAndLearns()
        {
            var path = Notebook("01-live-stream-ranking-v1.ipynb");
            Assert.True(NotebookRunner.CSharpCells(path).Count >= 4);
            var globals = await NotebookRunner.RunAsync(path, References);
            foreach (var d in globals.Displayed)
                _output.WriteLine(d);
            Assert.Contains(globals.Displayed, d => d.Contains("LiveStreamSimulator", StringComparison.Ordinal));
            Assert.Contains(globals.Displayed, d => d.Contains("identical scores: True", StringComparison.Ordinal));
            var table = globals.Displayed.Single(d => d.Contains("AUC", StringComparison.Ordinal));
            Assert.Contains("Click", table);
            // The V1 model learns click from the statistical features (the simulator's click AUC ceiling is ~0.8).
            Assert.True((double)globals.Variables["clickAuc"]! > 0.70, $"click AUC {globals.Variables["clickAuc"]}");
            double v1 = (double)globals.Variables["ndcg10"]!, policy = (double)globals.Variables["policyNdcg10"]!;
            Assert.True(v1 > policy, $"nDCG@10 of V1 {v1} should beat the logging policy's order {policy}");
            Assert.True((bool)globals.Variables["sameScores"]!);
        }
    }
}
