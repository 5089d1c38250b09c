using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Notebooks.Tests
{
    /// <summary>
    /// Every <c>notebooks/*.ipynb</c> runs in the real C# kernel against the packages packed from this commit, and the
    /// results each notebook is about hold.
    /// <para>
    /// To add a notebook: save it in <c>notebooks/</c> with a <c>#r "nuget: MLNetRank..., 0.1.0"</c> line per package it
    /// uses (no <c>#i</c> line: the test adds the packed feed), then add its name and its checks to <see cref="Checks"/>
    /// (what it shows must hold: a metric beating a baseline, identical scores after loading, ...). <see
    /// cref="EveryNotebookHasChecks"/> fails until you do. To save it with its outputs (so it reads on GitHub), run
    /// <c>MLNETRANK_NOTEBOOKS_SAVE_OUTPUTS=1 dotnet test tests/MLNetRank.Notebooks.Tests -c Release --filter "Name~name"</c>:
    /// the run writes each cell's outputs back into the notebook.
    /// </para>
    /// </summary>
    [Collection(PackedFeedCollection.Name)]
    public class NotebookTests
    {
        private readonly PackedFeed _feed;
        private readonly ITestOutputHelper _output;

        public NotebookTests(PackedFeed feed, ITestOutputHelper output)
        {
            _feed = feed;
            _output = output;
        }

        /// <summary>What must hold after each notebook's last cell (its variables, what it displayed).</summary>
        private static readonly Dictionary<string, Action<NotebookRun>> Checks = new()
        {
            ["00-quick-start.ipynb"] = run =>
            {
                // the full pipeline learns click (the simulator's click AUC ceiling is ~0.8) and scores identically after loading
                Assert.True(run.Get<double>("clickAuc") > 0.70, $"click AUC {run.Get<double>("clickAuc")}");
                Assert.True(run.Get<bool>("sameScores"));
            },
            ["02-gbdt-leaves.ipynb"] = run =>
            {
                // the fast encoder gives exactly the leaves of the saved chain of ML.NET built-ins; all three models learn
                // click (the notebook shows, as the GBDT benchmarks do, that GBDT+LR does not beat the trees on this data)
                Assert.True(run.Get<bool>("sameLeaves"));
                foreach (var name in new[] { "aucGbdt", "aucLr", "aucGbdtLr" })
                    Assert.True(run.Get<double>(name) > 0.70, $"{name} {run.Get<double>(name)}");
            },
            ["03-metapath2vec.ipynb"] = run =>
            {
                // 6 communities: chance is 1/6; embeddings that learned the graph put most users next to their own community
                double agreement = run.Get<double>("neighbourAgreement");
                Assert.True(agreement > 0.8, $"nearest-neighbour community agreement {agreement}");
                Assert.Contains(run.Displayed, d => d.Contains("data:image/png;base64,", StringComparison.Ordinal));
            },
            ["04-multitask-debiasing.ipynb"] = run =>
            {
                Assert.True(run.Get<double>("clickAuc") > 0.70, $"click AUC {run.Get<double>("clickAuc")}");
                // the tower removes the examination effect from the served score: the debiased model predicts click once
                // examined (far above the logged rate), the plain one stays near the logged rate (nDCG is shown, not
                // asserted: on this small world the two rank within noise of each other)
                double debiased = run.Get<double>("meanPredDebiased"), plain = run.Get<double>("meanPredPlain"), observed = run.Get<double>("observedCtr");
                Assert.True(debiased > 1.5 * observed, $"debiased mean prediction {debiased} vs observed click rate {observed}");
                Assert.InRange(plain, 0.6 * observed, 1.4 * observed);
                Assert.Contains(run.Displayed, d => d.Contains("data:image/png;base64,", StringComparison.Ordinal));
            },
            ["05-dataframe.ipynb"] = run =>
            {
                // the simulator's examination falls with position: position 1 is clicked more often than position 10
                double top = run.Get<double>("ctrTop"), bottom = run.Get<double>("ctrBottom");
                Assert.True(top > bottom, $"click rate at the top {top} vs the bottom {bottom}");
                Assert.True(run.Get<double>("lightGbmAuc") > 0.70, $"LightGBM click AUC {run.Get<double>("lightGbmAuc")}");
                Assert.Contains(run.Displayed, d => d.Contains("<table>", StringComparison.Ordinal) && d.Contains("Click AUC", StringComparison.Ordinal));
            },
            ["06-sequences.ipynb"] = run =>
            {
                // every layer learns click (the four are within noise of each other at this size: shown, not asserted); the
                // reloaded zip scores identically; the request scorer gives ML.NET's scores for one request
                Assert.True(run.Get<double>("minClickAuc") > 0.65, $"lowest click AUC of the four layers {run.Get<double>("minClickAuc")}");
                Assert.True(run.Get<bool>("sameScores"));
                Assert.True(run.Get<float>("maxServingDifference") < 1e-5f, $"request scorer vs ML.NET {run.Get<float>("maxServingDifference")}");
                Assert.Contains(run.Displayed, d => d.Contains("data:image/png;base64,", StringComparison.Ordinal));
                Assert.Contains(run.Displayed, d => d.Contains("<table>", StringComparison.Ordinal) && d.Contains("transformer", StringComparison.Ordinal));
            },
            ["07-ensemble.ipynb"] = run =>
            {
                // scores with independent errors (the true probability's logit plus noise per objective): every objective's
                // information adds up, so the fused score's AUC sum beats the best single score's clearly, the BCE ensemble's
                // beats it too, and HarmonRank (which trains for the AUC sum) beats BCE (which the frequent click dominates)
                double best = run.Get<double>("bestSingleAucSum"), bce = run.Get<double>("bceAucSum"), hr = run.Get<double>("harmonRankAucSum");
                Assert.True(hr > best + 0.02, $"HarmonRank AUC sum {hr} vs the best single score's {best}");
                Assert.True(bce > best, $"BCE AUC sum {bce} vs the best single score's {best}");
                Assert.True(hr > bce, $"HarmonRank AUC sum {hr} vs BCE's {bce}");
                // the buy weight of the logit sum trades click AUC for buy AUC (weights 0, 0.25, 0.5, 1, 2, 4, 8)
                var click = run.Get<double[]>("clickAucByBuyWeight");
                var buy = run.Get<double[]>("buyAucByBuyWeight");
                Assert.True(click[^1] < click[0], $"click AUC at buy weight 8 {click[^1]} vs 0 {click[0]}");
                Assert.True(buy[4] > buy[0], $"buy AUC at buy weight 2 {buy[4]} vs 0 {buy[0]}");
                // a buyer comments more (CommentBuyDependence): the labels' correlation shows it
                double buyComment = run.Get<double>("phiBuyComment"), buyFollow = run.Get<double>("phiBuyFollow");
                Assert.True(buyComment > buyFollow + 0.1, $"phi(buy, comment) {buyComment} vs phi(buy, follow) {buyFollow}");
                // the MMoE + ensemble pipeline learns click and its reloaded zip scores identically
                Assert.True(run.Get<double>("pipelineClickAuc") > 0.70, $"click AUC {run.Get<double>("pipelineClickAuc")}");
                Assert.True(run.Get<bool>("sameScores"));
                Assert.Contains(run.Displayed, d => d.Contains("data:image/png;base64,", StringComparison.Ordinal));
                Assert.Contains(run.Displayed, d => d.Contains("<table>", StringComparison.Ordinal) && d.Contains("HarmonRank, one-step", StringComparison.Ordinal));
            },
            ["01-live-stream-ranking-v1.ipynb"] = run =>
            {
                Assert.Contains(run.Displayed, d => d.Contains("LiveStreamSimulator", StringComparison.Ordinal));
                Assert.True(run.Get<double>("clickAuc") > 0.70, $"click AUC {run.Get<double>("clickAuc")}");
                double v1 = run.Get<double>("ndcg10"), policy = run.Get<double>("policyNdcg10");
                Assert.True(v1 > policy, $"nDCG@10 of V1 {v1} should beat the logging policy's order {policy}");
                Assert.True(run.Get<bool>("sameScores"));
            },
        };

        public static IEnumerable<object[]> Notebooks() =>
            Directory.GetFiles(Path.Combine(MLNetRank.TestSupport.TestData.RepoRoot()!, "notebooks"), "*.ipynb")
                .Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal).Select(n => new object[] { n! });

        [Fact]
        public void EveryNotebookHasChecks()
        {
            var missing = Notebooks().Select(n => (string)n[0]).Where(n => !Checks.ContainsKey(n)).ToArray();
            Assert.True(missing.Length == 0, "notebooks without checks in NotebookTests.Checks: " + string.Join(", ", missing));
            Assert.NotEmpty(Notebooks());
        }

        [Theory]
        [MemberData(nameof(Notebooks))]
        [Trait("Category", "Quality")]
        public async Task RunsInTheRealKernel(string name)
        {
            var path = Path.Combine(_feed.RepoRoot, "notebooks", name);
            var started = DateTime.UtcNow;
            using var run = await NotebookRunner.RunAsync(path, _feed, TimeSpan.FromMinutes(10));
            _output.WriteLine($"{name}: {NotebookRunner.CodeCells(run.Notebook).Count} code cells in {(DateTime.UtcNow - started).TotalSeconds:0} s (per cell: {string.Join(", ", run.CellSeconds.Select(s => s.ToString("0.0")))} s; packages {_feed.Version}; load {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a")})");
            if (Checks.TryGetValue(name, out var check))
                check(run);
            if (Environment.GetEnvironmentVariable("MLNETRANK_NOTEBOOKS_SAVE_OUTPUTS") == "1")
                NotebookRunner.SaveWithOutputs(run, path);
        }

        [Fact]
        public async Task AFailingCellFailsTheRunWithItsTextAndTheKernelsError()
        {
            var path = Path.Combine(Path.GetTempPath(), $"mlnetrank-failing-{Guid.NewGuid():N}.ipynb");
            File.WriteAllText(path, """
                { "cells": [
                    { "cell_type": "code", "metadata": {}, "outputs": [], "source": ["var a = 1;\n", "display(a);"] },
                    { "cell_type": "code", "metadata": {}, "outputs": [], "source": ["int b = a;\n", "throw new System.InvalidOperationException(\"boom \" + b);"] },
                    { "cell_type": "code", "metadata": {}, "outputs": [], "source": ["int c = \"not an int\";"] }
                  ],
                  "metadata": { "polyglot_notebook": { "defaultKernelName": "csharp" } }, "nbformat": 4, "nbformat_minor": 5 }
                """);
            try
            {
                var e = await Assert.ThrowsAsync<InvalidOperationException>(() => NotebookRunner.RunAsync(path, _feed, TimeSpan.FromMinutes(5)));
                Assert.Contains("code cell 2 failed", e.Message);
                Assert.Contains("boom 1", e.Message);                                  // the kernel's error
                Assert.Contains("throw new System.InvalidOperationException", e.Message); // the cell's text
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void ARelativePackageSourceIsRefusedWithTheReason()
        {
            bool added = false;
            var e = Assert.Throws<InvalidOperationException>(() => NotebookRunner.ForFeed("#i \"nuget: ../artifacts/packages\"\n#r \"nuget: MLNetRank, 0.1.0\"", _feed, ref added));
            Assert.Contains("Invalid URI", e.Message);
        }

        [Fact]
        public void PackageLinesGetThePackedVersionAndTheFeed()
        {
            bool added = false;
            var code = NotebookRunner.ForFeed("#r \"nuget: Microsoft.ML, 6.0.0\"\n#r \"nuget: MLNetRank.Torch, 0.1.0\"\nvar x = 1;", _feed, ref added);
            Assert.True(added);
            Assert.Equal($"#i \"nuget: {_feed.Folder}\"\n#r \"nuget: Microsoft.ML, 6.0.0\"\n#r \"nuget: MLNetRank.Torch, {_feed.Version}\"\nvar x = 1;", code);
        }
    }
}
