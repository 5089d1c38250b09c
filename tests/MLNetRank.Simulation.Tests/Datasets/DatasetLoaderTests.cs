using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Simulation.Datasets;
using MLNetRank.TestSupport;
using Xunit;

namespace MLNetRank.Simulation.Tests.Datasets
{
    public class DatasetLoaderTests : IDisposable
    {
        private readonly string _tmp = Path.Combine(Path.GetTempPath(), "mlnetrank-ds-" + Guid.NewGuid().ToString("N"));

        public DatasetLoaderTests() => Directory.CreateDirectory(_tmp);

        public void Dispose() => Directory.Delete(_tmp, true);

        private string Write(string name, string text)
        {
            var p = Path.Combine(_tmp, name);
            File.WriteAllText(p, text);
            return p;
        }

        // ---------------- Census-Income ----------------

        [SharedDataFact]
        [Trait("Category", "Quality")] // parses 99,762 rows x 42 columns (a few seconds on 2 busy cores)
        public void CensusIncome_LoadsTheSharedTestSplit()
        {
            var path = TestData.RequireFolder("census-income/census-income.test.gz");
            var ml = new MLContext(1);
            var data = CensusIncomeDataset.Load(ml, path);
            Assert.Equal(99_762, data.GetRowCount());
            var income = data.GetColumn<bool>("Income").ToArray();
            var never = data.GetColumn<bool>("NeverMarried").ToArray();
            Assert.Equal(99_762, income.Length);
            Assert.InRange(income.Count(b => b) / (double)income.Length, 0.055, 0.07);   // README: 6.2%
            Assert.InRange(never.Count(b => b) / (double)never.Length, 0.41, 0.45);     // README: 43%
            var s = data.Schema;
            Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 7), s["NumericFeatures"].Type);
            Assert.Equal(new VectorDataViewType(TextDataViewType.Instance, 32), s["CategoricalFeatures"].Type);
            Assert.Equal(NumberDataViewType.Single, s["Weight"].Type);
            Assert.Equal(42, CensusIncomeDataset.RawColumns.Count);
            Assert.Equal(42, 7 + 32 + 3); // numeric + categorical + weight, marital status, income
            // first row: 38, Private, ..., Married-civilian spouse present, ..., - 50000.
            var age = data.GetColumn<float>("Age").First();
            Assert.Equal(38f, age);
            Assert.Equal("Private", data.GetColumn<ReadOnlyMemory<char>>("ClassOfWorker").First().ToString());
            Assert.Equal("Married-civilian spouse present", data.GetColumn<ReadOnlyMemory<char>>("MaritalStatus").First().ToString());
            Assert.Equal(1032.38f, data.GetColumn<float>("Weight").First(), 2);
            Assert.DoesNotContain("MaritalStatus", CensusIncomeDataset.CategoricalColumns);
            // one-hot encoding of the categorical vector works as advertised
            var enc = ml.Transforms.Categorical.OneHotEncoding("Cat", "CategoricalFeatures").Fit(ml.Data.TakeRows(data, 500)).Transform(ml.Data.TakeRows(data, 500));
            Assert.True(((VectorDataViewType)enc.Schema["Cat"].Type).Size > 32);
        }

        [Fact]
        public void CensusIncome_MalformedInput_NamesFileLineAndProblem()
        {
            var good = "38, Private, 6, 36, 1st 2nd 3rd or 4th grade, 0, Not in universe, Married-civilian spouse present, Manufacturing-durable goods, Machine operators assmblrs & inspctrs, White, Mexican (Mexicano), Female, Not in universe, Not in universe, Full-time schedules, 0, 0, 0, Joint one under 65 & one 65+, Not in universe, Not in universe, Spouse of householder, Spouse of householder, 1032.38, ?, ?, ?, Not in universe under 1 year old, ?, 4, Not in universe, Mexico, Mexico, Mexico, Foreign born- Not a citizen of U S , 0, Not in universe, 2, 12, 95, - 50000.";
            var ok = CensusIncomeDataset.Load(null, Write("ok.txt", good + "\n" + good.Replace("- 50000.", "50000+.").Replace("Married-civilian spouse present", "Never married") + "\n"));
            Assert.Equal(new[] { false, true }, ok.GetColumn<bool>("Income").ToArray());
            Assert.Equal(new[] { false, true }, ok.GetColumn<bool>("NeverMarried").ToArray());

            var ex = Assert.Throws<FormatException>(() => CensusIncomeDataset.Load(null, Write("short.txt", good + "\n38, Private, 6\n")));
            Assert.Contains("short.txt", ex.Message);
            Assert.Contains("line 2", ex.Message);
            Assert.Contains("42", ex.Message);
            ex = Assert.Throws<FormatException>(() => CensusIncomeDataset.Load(null, Write("age.txt", "abc" + good.Substring(2))));
            Assert.Contains("line 1", ex.Message);
            Assert.Contains("'age'", ex.Message);
            ex = Assert.Throws<FormatException>(() => CensusIncomeDataset.Load(null, Write("label.txt", good.Replace("- 50000.", "maybe"))));
            Assert.Contains("income", ex.Message);
            var missing = Path.Combine(_tmp, "nope.gz");
            var fnf = Assert.Throws<FileNotFoundException>(() => CensusIncomeDataset.Load(null, missing));
            Assert.Contains(missing, fnf.Message);
        }

        // ---------------- LightGBM lambdarank ----------------

        [SharedDataFact]
        public void Lambdarank_LoadsTrainAndTest_WithQueryGroups()
        {
            var train = LambdarankDataset.Load(new MLContext(1), TestData.RequireFolder("lightgbm-lambdarank/rank.train"));
            var test = LambdarankDataset.Load(new MLContext(1), TestData.RequireFolder("lightgbm-lambdarank/rank.test"), featureCount: 300);
            Assert.Equal(3005, train.GetRowCount());
            Assert.Equal(768, test.GetRowCount());
            Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 300), train.Schema["Features"].Type);
            var key = Assert.IsType<KeyDataViewType>(train.Schema["GroupId"].Type);
            Assert.Equal(201UL, key.Count);
            Assert.Equal(50UL, ((KeyDataViewType)test.Schema["GroupId"].Type).Count);
            var groups = train.GetColumn<uint>("GroupId").ToArray();
            Assert.Equal(201, groups.Distinct().Count());
            Assert.Equal(1u, groups[0]);
            Assert.True(groups.Zip(groups.Skip(1), (a, b) => b == a || b == a + 1).All(x => x));
            // the first query has 1 document (rank.train.query starts with 1, 13, 5)
            Assert.Equal(1, groups.Count(g => g == 1));
            Assert.Equal(13, groups.Count(g => g == 2));
            var labels = train.GetColumn<float>("Label").ToArray();
            Assert.Equal(new[] { 0f, 1f, 2f, 3f, 4f }, labels.Distinct().OrderBy(x => x));
            Assert.Equal(645, labels.Count(l => l == 0));
            // first line: "0 10:0.89 11:0.75 ..." -> slot 9 = 0.89, slot 0 = 0
            var f0 = train.GetColumn<float[]>("Features").First();
            Assert.Equal(0.89f, f0[9]);
            Assert.Equal(0.75f, f0[10]);
            Assert.Equal(0f, f0[0]);
            // ML.NET's LightGBM ranking trainer accepts the schema (GroupId is a key)
            var ml = new MLContext(1);
            var model = ml.Ranking.Trainers.FastTree(new Microsoft.ML.Trainers.FastTree.FastTreeRankingTrainer.Options { NumberOfTrees = 5, NumberOfLeaves = 4 }).Fit(train);
            var ndcg = ml.Ranking.Evaluate(model.Transform(test)).NormalizedDiscountedCumulativeGains;
            Assert.True(ndcg[0] > 0.3, $"NDCG@1 {ndcg[0]}");
        }

        [Fact]
        public void Lambdarank_MalformedInput_NamesFileLineAndProblem()
        {
            var data = Write("r.txt", "1 1:0.5 3:0.25\n0 2:1\n2 1:1 2:1 3:1\n");
            Write("r.txt.query", "2\n1\n");
            var ok = LambdarankDataset.Load(null, data);
            Assert.Equal(new uint[] { 1, 1, 2 }, ok.GetColumn<uint>("GroupId").ToArray());
            Assert.Equal(new[] { 0.5f, 0f, 0.25f }, ok.GetColumn<float[]>("Features").First());

            Write("bad.txt.query", "3\n");
            var ex = Assert.Throws<FormatException>(() => LambdarankDataset.Load(null, Write("bad.txt", "1 1:0.5\n0 2:x\n1 1:1\n")));
            Assert.Contains("bad.txt (line 2)", ex.Message);
            Assert.Contains("feature 2", ex.Message);
            ex = Assert.Throws<FormatException>(() => LambdarankDataset.Load(null, Write("bad.txt", "1 1:0.5\n0 2 \n1 1:1\n")));
            Assert.Contains("line 2", ex.Message);
            Assert.Contains("index:value", ex.Message);
            ex = Assert.Throws<FormatException>(() => LambdarankDataset.Load(null, Write("bad.txt", "1 3:0.5 2:1\n0 2:1\n1 1:1\n")));
            Assert.Contains("line 1", ex.Message);
            Write("sum.txt.query", "1\n1\n");
            ex = Assert.Throws<FormatException>(() => LambdarankDataset.Load(null, Write("sum.txt", "1 1:0.5\n0 2:1\n1 1:1\n")));
            Assert.Contains("add up to 2", ex.Message);
            var fnf = Assert.Throws<FileNotFoundException>(() => LambdarankDataset.Load(null, Write("noq.txt", "1 1:1\n")));
            Assert.Contains("noq.txt.query", fnf.Message);
        }

        // ---------------- Open Bandit ----------------

        [SharedDataTheory]
        [InlineData("random/men/men.csv", 34)]
        [InlineData("random/women/women.csv", 46)]
        [InlineData("bts/men/men.csv", 34)]
        [InlineData("bts/women/women.csv", 46)]
        public void OpenBandit_LoadsTheSmallFiles(string file, int arms)
        {
            var data = OpenBanditDataset.Load(new MLContext(1), TestData.RequireFolder("open-bandit-small/" + file));
            Assert.Equal(10_000, data.GetRowCount());
            var pos = data.GetColumn<int>("Position").ToArray();
            Assert.Equal(new[] { 1, 2, 3 }, pos.Distinct().OrderBy(p => p));
            var items = data.GetColumn<uint>("ItemId").ToArray();
            Assert.True(items.Max() < arms);
            var prop = data.GetColumn<float>("PropensityScore").ToArray();
            Assert.All(prop, p => Assert.InRange(p, 1e-6f, 1f));
            if (file.StartsWith("random", StringComparison.Ordinal))
                Assert.All(prop, p => Assert.Equal(1.0 / arms, p, 1e-6)); // uniform logging policy
            Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, arms), data.Schema["UserItemAffinity"].Type);
            Assert.Equal(new VectorDataViewType(TextDataViewType.Instance, 4), data.Schema["UserFeatures"].Type);
            Assert.Equal(DateTimeOffsetDataViewType.Instance, data.Schema["Timestamp"].Type);
            double ctr = data.GetColumn<bool>("Click").Count(c => c) / 10_000.0;
            Assert.InRange(ctr, 0.001, 0.05);
        }

        [SharedDataFact]
        public void OpenBandit_ItemContext_Loads()
        {
            var data = OpenBanditDataset.LoadItemContext(null, TestData.RequireFolder("open-bandit-small/random/men/item_context.csv"));
            Assert.Equal(34, data.GetRowCount());
            Assert.Equal(Enumerable.Range(0, 34).Select(i => (uint)i), data.GetColumn<uint>("ItemId"));
            Assert.Equal(new VectorDataViewType(TextDataViewType.Instance, 3), data.Schema["ItemFeatures"].Type);
            var ex = Assert.Throws<FormatException>(() => OpenBanditDataset.LoadItemContext(null, Write("ic.csv", ",item_id,item_feature_0,item_feature_1\n0,0,zz,abc\n")));
            Assert.Contains("ic.csv (line 2)", ex.Message);
            Assert.Contains("item_feature_0", ex.Message);
        }

        [Fact]
        public void OpenBandit_MalformedInput_NamesFileLineAndProblem()
        {
            const string header = ",timestamp,item_id,position,click,propensity_score,user_feature_0,user-item_affinity_0,user-item_affinity_1\n";
            var ok = OpenBanditDataset.Load(null, Write("ok.csv", header + "0,2019-11-24 00:03:13.442536+00:00,1,2,1,0.5,abc,0.0,1.0\n"));
            Assert.Equal(new[] { true }, ok.GetColumn<bool>("Click").ToArray());
            Assert.Equal(new DateTimeOffset(2019, 11, 24, 0, 3, 13, TimeSpan.Zero).AddTicks(4425360), ok.GetColumn<DateTimeOffset>("Timestamp").First());
            var ex = Assert.Throws<FormatException>(() => OpenBanditDataset.Load(null, Write("b.csv", header + "0,2019-11-24 00:03:13+00:00,1,2,yes,0.5,abc,0.0,1.0\n")));
            Assert.Contains("b.csv (line 2)", ex.Message);
            Assert.Contains("'click'", ex.Message);
            ex = Assert.Throws<FormatException>(() => OpenBanditDataset.Load(null, Write("b.csv", header + "0,2019-11-24 00:03:13+00:00,1,2,0,0.5,abc\n")));
            Assert.Contains("fields", ex.Message);
            ex = Assert.Throws<FormatException>(() => OpenBanditDataset.Load(null, Write("b.csv", header + "0,2019-11-24 00:03:13+00:00,1,2,0,0,abc,0,0\n")));
            Assert.Contains("propensity_score", ex.Message);
            ex = Assert.Throws<FormatException>(() => OpenBanditDataset.Load(null, Write("b.csv", "a,b\n1,2\n")));
            Assert.Contains("'timestamp'", ex.Message);
            Assert.Throws<FileNotFoundException>(() => OpenBanditDataset.Load(null, Path.Combine(_tmp, "none.csv")));
        }

        // ---------------- Ali-CCP ----------------

        [SharedDataTheory]
        [InlineData("ali_ccp_train_sample.csv", 100)]
        [InlineData("ali_ccp_val_sample.csv", 50)]
        [InlineData("ali_ccp_test_sample.csv", 50)]
        public void AliCcp_LoadsTheSamples(string file, int rows)
        {
            var data = AliCcpDataset.Load(new MLContext(1), TestData.RequireFolder("ali-ccp-sample/" + file));
            Assert.Equal(rows, data.GetRowCount());
            Assert.Equal(new VectorDataViewType(NumberDataViewType.UInt32, 23), data.Schema["SparseFeatures"].Type);
            Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 8), data.Schema["DenseFeatures"].Type);
            Assert.Equal(NumberDataViewType.UInt32, data.Schema["F101"].Type);
            Assert.Equal(NumberDataViewType.Single, data.Schema["D109_14"].Type);
            var click = data.GetColumn<bool>("Click").ToArray();
            var buy = data.GetColumn<bool>("Purchase").ToArray();
            Assert.All(click.Zip(buy), cb => Assert.True(cb.First || !cb.Second));
            Assert.True(click.Count(c => c) >= 1);
        }

        [Fact]
        public void AliCcp_MalformedInput_NamesFileLineAndProblem()
        {
            const string header = "click,purchase,101,D1\n";
            var ok = AliCcpDataset.Load(null, Write("ok.csv", header + "1,1,5,0.5\n0,0,7,0.25\n"));
            Assert.Equal(new uint[] { 5, 7 }, ok.GetColumn<uint>("F101").ToArray());
            var ex = Assert.Throws<FormatException>(() => AliCcpDataset.Load(null, Write("a.csv", header + "0,0,5,0.5\n0,1,5,0.5\n")));
            Assert.Contains("a.csv (line 3)", ex.Message);
            Assert.Contains("without a click", ex.Message);
            ex = Assert.Throws<FormatException>(() => AliCcpDataset.Load(null, Write("a.csv", header + "0,0,-5,0.5\n")));
            Assert.Contains("'101'", ex.Message);
            ex = Assert.Throws<FormatException>(() => AliCcpDataset.Load(null, Write("a.csv", "x,y\n1,2\n")));
            Assert.Contains("'click'", ex.Message);
            Assert.Throws<FileNotFoundException>(() => AliCcpDataset.Load(null, Path.Combine(_tmp, "none.csv")));
        }
    }
}
