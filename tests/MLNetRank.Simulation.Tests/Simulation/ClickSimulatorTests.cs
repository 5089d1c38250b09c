using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Simulation.Datasets;
using MLNetRank.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Simulation.Tests.Simulation
{
    public class ClickSimulatorTests
    {
        private readonly ITestOutputHelper _out;

        public ClickSimulatorTests(ITestOutputHelper output) => _out = output;

        private sealed class Doc
        {
            public uint Group { get; set; }
            public float Label { get; set; }
            public float Score { get; set; }
            public float Tag { get; set; }
        }

        private static IDataView Toy(MLContext ml, params (uint g, float label, float score)[] docs)
            => ml.Data.LoadFromEnumerable(docs.Select((d, i) => new Doc { Group = d.g, Label = d.label, Score = d.score, Tag = i }).ToList());

        private sealed class Out
        {
            public uint Group { get; set; }
            public float Label { get; set; }
            public float Tag { get; set; }
            public int Session { get; set; }
            public int Position { get; set; }
            public bool IsRandomized { get; set; }
            public bool Click { get; set; }
            public float TrueAttraction { get; set; }
            public float TrueExamination { get; set; }
        }

        [Fact]
        public void PositionBased_OrdersByLoggingScore_KeepsInputColumns_AndReplaysSessions()
        {
            var ml = new MLContext(1);
            var data = Toy(ml, (1, 0, 0.1f), (1, 4, 0.9f), (1, 2, 0.5f), (2, 1, 0f), (2, 3, 1f));
            var view = ClickSimulator.SimulateClicks(ml, data, new ClickSimulatorOptions { GroupColumnName = "Group", LoggingScoreColumnName = "Score", Sessions = 3 });
            Assert.Equal(15, view.GetRowCount());
            var rows = ml.Data.CreateEnumerable<Out>(view, false).ToList();
            Assert.Equal(15, rows.Count);
            Assert.Equal(new[] { 0, 1, 2 }, rows.Select(r => r.Session).Distinct());
            Assert.Equal(Enumerable.Range(0, 3).SelectMany(_ => new float[] { 0, 1, 2, 3, 4 }), rows.Select(r => r.Tag));
            Assert.Equal(new[] { 3, 1, 2, 2, 1 }, rows.Take(5).Select(r => r.Position));
            Assert.All(rows, r => Assert.Equal((float)(1.0 / r.Position), r.TrueExamination, 6));
            Assert.All(rows, r => Assert.Equal((float)(0.1 + 0.9 * (Math.Pow(2, r.Label) - 1) / 15), r.TrueAttraction, 6));
            Assert.All(rows, r => Assert.False(r.IsRandomized));
            // deterministic per seed
            var again = ml.Data.CreateEnumerable<Out>(ClickSimulator.SimulateClicks(ml, data, new ClickSimulatorOptions { GroupColumnName = "Group", LoggingScoreColumnName = "Score", Sessions = 3 }), false);
            Assert.Equal(rows.Select(r => r.Click), again.Select(r => r.Click));
            // without a logging score the input order is shown
            var plain = ml.Data.CreateEnumerable<Out>(ClickSimulator.SimulateClicks(ml, data, new ClickSimulatorOptions { GroupColumnName = "Group" }), false).ToList();
            Assert.Equal(new[] { 1, 2, 3, 1, 2 }, plain.Select(r => r.Position));
        }

        [Fact]
        public void Cascade_StopsAfterTheFirstClick()
        {
            var ml = new MLContext(1);
            var docs = Enumerable.Range(0, 400).Select(i => ((uint)(i / 8 + 1), (float)(i % 5), 0f)).ToArray();
            var view = ClickSimulator.SimulateClicks(ml, Toy(ml, docs), new ClickSimulatorOptions { GroupColumnName = "Group", Model = ClickModel.Cascade, Sessions = 5, ClickNoise = 0.2 });
            var rows = ml.Data.CreateEnumerable<Out>(view, false).ToList();
            foreach (var g in rows.GroupBy(r => (r.Session, r.Group)))
            {
                var list = g.OrderBy(r => r.Position).ToList();
                Assert.True(list.Count(r => r.Click) <= 1);
                int first = list.FindIndex(r => r.Click);
                for (int p = 0; p < list.Count; p++)
                    Assert.Equal(first < 0 || p <= first ? 1f : 0f, list[p].TrueExamination);
            }
            Assert.True(rows.Count(r => r.Click) > 100);
        }

        [SharedDataFact]
        public void RandomizedSessions_OnLambdarank_RecoverTheExaminationCurve()
        {
            var ml = new MLContext(1);
            var data = LambdarankDataset.Load(ml, TestData.RequireFolder("lightgbm-lambdarank/rank.train"));
            var view = ClickSimulator.SimulateClicks(ml, data, new ClickSimulatorOptions { Sessions = 60, RandomizedShare = 1.0, PositionBiasExponent = 1.0 });
            var pos = view.GetColumn<int>("Position").ToArray();
            var click = view.GetColumn<bool>("Click").ToArray();
            Assert.Equal(3005 * 60, pos.Length);
            var shown = new double[6];
            var clicks = new double[6];
            for (int i = 0; i < pos.Length; i++)
                if (pos[i] <= 5)
                {
                    shown[pos[i]]++;
                    if (click[i]) clicks[pos[i]]++;
                }
            double c1 = clicks[1] / shown[1];
            for (int p = 2; p <= 5; p++)
            {
                double cp = clicks[p] / shown[p];
                double sdLog = Math.Sqrt((1 - cp) / clicks[p] + (1 - c1) / clicks[1]);
                _out.WriteLine($"position {p}: CTR ratio {cp / c1:0.000} (truth {1.0 / p:0.000}, 4 sd in log {4 * sdLog:0.000})");
                Assert.InRange(Math.Log(cp / c1), Math.Log(1.0 / p) - 4 * sdLog, Math.Log(1.0 / p) + 4 * sdLog);
            }
        }

        [Fact]
        public void BadInput_IsReportedWithTheColumnOrRow()
        {
            var ml = new MLContext(1);
            var data = Toy(ml, (1, 0, 0), (2, 1, 0), (1, 2, 0));
            var ex = Assert.Throws<InvalidOperationException>(() => ClickSimulator.SimulateClicks(ml, data, new ClickSimulatorOptions { GroupColumnName = "Group" }));
            Assert.Contains("Row 2", ex.Message);
            Assert.Contains("contiguous", ex.Message);
            var aor = Assert.Throws<ArgumentOutOfRangeException>(() => ClickSimulator.SimulateClicks(ml, data, new ClickSimulatorOptions()));
            Assert.Contains("'GroupId'", aor.Message);
            aor = Assert.Throws<ArgumentOutOfRangeException>(() => ClickSimulator.SimulateClicks(ml, data, new ClickSimulatorOptions { GroupColumnName = "Label" }));
            Assert.Contains("Single", aor.Message);
            ex = Assert.Throws<InvalidOperationException>(() => ClickSimulator.SimulateClicks(ml, Toy(ml, (1, 7, 0)), new ClickSimulatorOptions { GroupColumnName = "Group" }));
            Assert.Contains("MaxRelevance", ex.Message);
            aor = Assert.Throws<ArgumentOutOfRangeException>(() => ClickSimulator.SimulateClicks(ml, data, new ClickSimulatorOptions { GroupColumnName = "Group", Sessions = 0 }));
            Assert.Contains("Sessions", aor.Message);
        }
    }
}
