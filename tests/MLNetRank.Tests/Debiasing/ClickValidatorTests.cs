using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Debiasing;
using Xunit;

namespace MLNetRank.Tests.Debiasing
{
    public class ClickValidatorTests
    {
        private sealed class Impression
        {
            public uint ItemId { get; set; }
            public bool Click { get; set; }
            public float Propensity { get; set; } = 1;
        }

        private sealed class Scored
        {
            public uint GroupId { get; set; }
            public uint ItemId { get; set; }
            public float Score { get; set; }
        }

        private static Impression I(uint item, bool click, float p = 1) => new() { ItemId = item, Click = click, Propensity = p };

        [Fact]
        public void ClickNdcgMatchesHandComputedValueWithTiesAndWeights()
        {
            var ml = new MLContext(1);
            // group 1: item 1 two clicks, item 2 one click, item 3 none; group 2: item 4 one click at θ = 0.5 (weight 2), item 5 none
            var log = ml.Data.LoadFromEnumerable(new[] { I(1, true), I(1, true), I(2, true), I(3, false), I(4, true, 0.5f), I(5, false) });
            var validator = ml.Ranker().CreateClickValidator(log, new ClickValidationOptions { PropensityColumnName = "Propensity" });
            Assert.Equal(6, validator.Impressions);
            Assert.Equal(4, validator.Clicks);
            double D(int r) => 1 / Math.Log(1 + r, 2);
            // candidate: group 1 order 2, 1, 3; group 2 items 4 and 5 tied (both get the mean of the discounts of ranks 1 and 2)
            var scored = ml.Data.LoadFromEnumerable(new[]
            {
                new Scored { GroupId = 1, ItemId = 1, Score = 0.5f }, new Scored { GroupId = 1, ItemId = 2, Score = 0.9f }, new Scored { GroupId = 1, ItemId = 3, Score = 0.1f },
                new Scored { GroupId = 2, ItemId = 4, Score = 0.3f }, new Scored { GroupId = 2, ItemId = 5, Score = 0.3f },
            });
            double dcg = 1 * D(1) + 2 * D(2) + 2 * (D(1) + D(2)) / 2;
            double ideal = 2 * D(1) + 1 * D(2) + 2 * D(1);
            Assert.Equal(dcg / ideal, validator.Evaluate(scored), 10);
            // cut-off 1: only rank 1 counts (the tie shares rank 1's discount over 2 items: half of it)
            var top1 = ml.Ranker().CreateClickValidator(log, new ClickValidationOptions { PropensityColumnName = "Propensity", TruncationLevel = 1 });
            Assert.Equal((1 * D(1) + 2 * D(1) / 2) / (2 * D(1) + 2 * D(1)), top1.Evaluate(scored), 10);
            // without propensities item 4 weighs 1
            var raw = ml.Ranker().CreateClickValidator(log);
            Assert.Equal((1 * D(1) + 2 * D(2) + 1 * (D(1) + D(2)) / 2) / (2 * D(1) + 1 * D(2) + 1 * D(1)), raw.Evaluate(scored), 10);
        }

        /// <summary>
        /// Known answer: items with a known attraction, examination (1/rank); a logger that ranks by a popularity only weakly
        /// related to attraction, so the naive click-through rate of the logged traffic mixes position and relevance. Among
        /// three candidates — the true attraction, the naive CTR and the logger — the validator picks the true attraction from
        /// randomized validation sessions (no propensity known), and from logged sessions when they carry the propensities.
        /// </summary>
        [Fact]
        public void PicksTheRelevanceOrderOverTheNaiveAndLoggerOrders()
        {
            var ml = new MLContext(1);
            var rng = new Random(7);
            const int groups = 60, items = 10, shown = 6;
            var attraction = new double[groups * items];
            var popularity = new double[groups * items];
            for (int i = 0; i < attraction.Length; i++)
            {
                attraction[i] = 0.05 + 0.9 * rng.NextDouble();
                popularity[i] = 0.3 * attraction[i] + rng.NextDouble();
            }
            double Theta(int rank) => 1.0 / rank;
            var loggerOrder = Enumerable.Range(0, groups).Select(g => Enumerable.Range(g * items, items).OrderByDescending(i => popularity[i]).ToArray()).ToArray();
            List<Impression> Simulate(int sessions, bool randomized, int depth = shown)
            {
                var rows = new List<Impression>();
                for (int s = 0; s < sessions; s++)
                {
                    int g = rng.Next(groups);
                    var order = randomized ? loggerOrder[g].OrderBy(_ => rng.Next()).ToArray() : loggerOrder[g];
                    for (int r = 1; r <= depth; r++)
                        rows.Add(I((uint)order[r - 1], rng.NextDouble() < Theta(r) * attraction[order[r - 1]], (float)Theta(r)));
                }
                return rows;
            }
            // naive candidate: the CTR of the logged training traffic (items below the logger's top 6 never shown: CTR 0)
            var train = Simulate(6000, false);
            var ctr = new double[attraction.Length];
            foreach (var grp in train.GroupBy(r => r.ItemId))
                ctr[grp.Key] = grp.Average(r => r.Click ? 1.0 : 0.0);
            IDataView Candidate(Func<int, double> score) => ml.Data.LoadFromEnumerable(Enumerable.Range(0, attraction.Length)
                .Select(i => new Scored { GroupId = (uint)(i / items), ItemId = (uint)i, Score = (float)score(i) }));
            var candidates = new[]
            {
                new KeyValuePair<string, IDataView>("logger", Candidate(i => popularity[i])),
                new KeyValuePair<string, IDataView>("naive CTR", Candidate(i => ctr[i])),
                new KeyValuePair<string, IDataView>("true attraction", Candidate(i => attraction[i])),
            };

            var randomized = ml.Ranker().CreateClickValidator(ml.Data.LoadFromEnumerable(Simulate(3000, true)));
            var pick = randomized.Select(candidates);
            Assert.Equal("true attraction", pick.Best);
            Assert.Equal(new[] { "true attraction", "naive CTR", "logger" }, pick.Scores.Select(s => s.Name).ToArray());
            Assert.True(pick.Scores[0].Value > pick.Scores[1].Value + 0.02, string.Join("; ", pick.Scores));

            // logged validation sessions showing every item (an item never shown has no validation click, whatever its
            // relevance): raw clicks reward the logger's own order; weighted by 1/θ they pick the truth
            var logged = ml.Data.LoadFromEnumerable(Simulate(3000, false, items));
            var rawPick = ml.Ranker().CreateClickValidator(logged).Select(candidates);
            Assert.NotEqual("true attraction", rawPick.Best);
            var ipsPick = ml.Ranker().CreateClickValidator(logged, new ClickValidationOptions { PropensityColumnName = "Propensity" }).Select(candidates);
            Assert.Equal("true attraction", ipsPick.Best);
        }

        [Fact]
        public void BadInputIsAnErrorNamingTheColumn()
        {
            var ml = new MLContext(1);
            var log = ml.Data.LoadFromEnumerable(new[] { I(1, true), I(2, false) });
            var e = Assert.ThrowsAny<ArgumentException>(() => ml.Ranker().CreateClickValidator(log, new ClickValidationOptions { ItemColumnName = "Doc" }));
            Assert.Contains("Doc", e.Message);
            Assert.Throws<InvalidOperationException>(() => ml.Ranker().CreateClickValidator(ml.Data.LoadFromEnumerable(new[] { I(1, false) })));
            var zero = ml.Data.LoadFromEnumerable(new[] { I(1, true, 0f) });
            var z = Assert.Throws<InvalidOperationException>(() => ml.Ranker().CreateClickValidator(zero, new ClickValidationOptions { PropensityColumnName = "Propensity" }));
            Assert.Contains("Propensity", z.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().CreateClickValidator(log, new ClickValidationOptions { TruncationLevel = 0 }));

            var validator = ml.Ranker().CreateClickValidator(log);
            var nan = ml.Data.LoadFromEnumerable(new[] { new Scored { GroupId = 1, ItemId = 1, Score = float.NaN } });
            var n = Assert.ThrowsAny<Exception>(() => validator.Evaluate(nan));
            Assert.Contains("Score", n.Message);
            var other = ml.Data.LoadFromEnumerable(new[] { new Scored { GroupId = 1, ItemId = 9, Score = 1 } });
            Assert.Throws<InvalidOperationException>(() => validator.Evaluate(other));
            var ok = ml.Data.LoadFromEnumerable(new[] { new Scored { GroupId = 1, ItemId = 1, Score = 1 } });
            Assert.Throws<ArgumentException>(() => validator.Select(new[] { new KeyValuePair<string, IDataView>("a", ok), new KeyValuePair<string, IDataView>("a", ok) }));
        }
    }
}
