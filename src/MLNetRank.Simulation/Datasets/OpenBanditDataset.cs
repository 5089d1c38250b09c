using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Simulation.Data;

namespace MLNetRank.Simulation.Datasets
{
    /// <summary>
    /// Loader of the Open Bandit Dataset's logged-bandit CSV files (<c>{random,bts}/{all,men,women}/{campaign}.csv</c>;
    /// Saito et al., 2020, Apache-2.0): ZOZOTOWN impressions with the item shown, its position (1-3), the click, and the
    /// logging policy's propensity score.
    /// </summary>
    /// <remarks>
    /// Output schema: <c>Timestamp</c> (DateTimeOffset), <c>ItemId</c> (UInt32, the arm index as in the file, 0-based),
    /// <c>Position</c> (Int32, 1-3), <c>Click</c> (Boolean), <c>PropensityScore</c> (Single), <c>UserFeatures</c>
    /// (Vector&lt;String&gt;[4]: the hashed <c>user_feature_0..3</c>) and <c>UserItemAffinity</c> (Vector&lt;Single&gt;[K], one slot
    /// per <c>user-item_affinity_k</c> column, K = number of arms of the campaign). The leading unnamed index column is dropped.
    /// </remarks>
    public static class OpenBanditDataset
    {
        /// <summary>Loads one Open Bandit CSV file.</summary>
        /// <param name="mlContext">The ML.NET context (its log receives a summary line); may be null.</param>
        /// <param name="path">Path of e.g. <c>open-bandit-small/random/men/men.csv</c>.</param>
        /// <exception cref="System.IO.FileNotFoundException">The file does not exist (the message names the path).</exception>
        /// <exception cref="FormatException">A required column is missing from the header, a line has the wrong number of
        /// fields, or a value does not parse (the message names the file, the line and the column).</exception>
        public static IDataView Load(MLContext? mlContext, string path)
        {
            TextParsing.RequireFile(path, "Open Bandit");
            using var lines = TextParsing.ReadLines(path).GetEnumerator();
            if (!lines.MoveNext())
                throw TextParsing.Error(path, 1, "the file is empty; expected a header row.");
            var header = lines.Current.Split(',');
            int Col(string name)
            {
                int i = Array.IndexOf(header, name);
                if (i < 0)
                    throw TextParsing.Error(path, 1, $"the header has no '{name}' column (found: {TextParsing.Trunc(string.Join(",", header))}).");
                return i;
            }
            int cTime = Col("timestamp"), cItem = Col("item_id"), cPos = Col("position"), cClick = Col("click"), cProp = Col("propensity_score");
            var cUser = Enumerable.Range(0, header.Length).Where(i => header[i].StartsWith("user_feature_", StringComparison.Ordinal)).ToArray();
            var cAff = Enumerable.Range(0, header.Length).Where(i => header[i].StartsWith("user-item_affinity_", StringComparison.Ordinal)).ToArray();
            if (cUser.Length == 0)
                throw TextParsing.Error(path, 1, "the header has no 'user_feature_*' columns.");

            var time = new List<DateTimeOffset>();
            var item = new List<uint>();
            var pos = new List<int>();
            var click = new List<bool>();
            var prop = new List<float>();
            var user = new List<ReadOnlyMemory<char>>();
            var aff = new List<float>();
            var intern = new Dictionary<string, ReadOnlyMemory<char>>();
            long lineNo = 1;
            while (lines.MoveNext())
            {
                lineNo++;
                var raw = lines.Current;
                if (raw.Trim().Length == 0)
                    continue;
                var f = raw.Split(',');
                if (f.Length != header.Length)
                    throw TextParsing.Error(path, lineNo, $"expected {header.Length} comma-separated fields (as in the header), found {f.Length}.");
                if (!DateTimeOffset.TryParse(f[cTime], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var ts))
                    throw TextParsing.Error(path, lineNo, $"column 'timestamp' has '{TextParsing.Trunc(f[cTime])}', expected a date and time.");
                time.Add(ts);
                item.Add(TextParsing.UInt(path, lineNo, "item_id", f[cItem]));
                int p = TextParsing.Int(path, lineNo, "position", f[cPos]);
                if (p < 1)
                    throw TextParsing.Error(path, lineNo, $"column 'position' has {p}, expected a 1-based position.");
                pos.Add(p);
                click.Add(TextParsing.Binary(path, lineNo, "click", f[cClick]));
                float ps = TextParsing.Float(path, lineNo, "propensity_score", f[cProp]);
                if (!(ps > 0 && ps <= 1))
                    throw TextParsing.Error(path, lineNo, $"column 'propensity_score' has {ps}, expected a probability in (0, 1].");
                prop.Add(ps);
                foreach (int c in cUser)
                {
                    if (!intern.TryGetValue(f[c], out var m))
                        intern[f[c]] = m = f[c].AsMemory();
                    user.Add(m);
                }
                foreach (int c in cAff)
                    aff.Add(TextParsing.Float(path, lineNo, header[c], f[c]));
            }
            int n = time.Count;
            if (n == 0)
                throw TextParsing.Error(path, lineNo, "the file has no data rows.");
            var cols = new List<InMemoryDataView.Column>
            {
                InMemoryDataView.Scalar("Timestamp", DateTimeOffsetDataViewType.Instance, time.ToArray()),
                InMemoryDataView.Scalar("ItemId", NumberDataViewType.UInt32, item.ToArray()),
                InMemoryDataView.Scalar("Position", NumberDataViewType.Int32, pos.ToArray()),
                InMemoryDataView.Scalar("Click", BooleanDataViewType.Instance, click.ToArray()),
                InMemoryDataView.Scalar("PropensityScore", NumberDataViewType.Single, prop.ToArray()),
                InMemoryDataView.Vector("UserFeatures", TextDataViewType.Instance, cUser.Length, user.ToArray(), cUser.Select(c => header[c]).ToArray()),
            };
            if (cAff.Length > 0)
                cols.Add(InMemoryDataView.Vector("UserItemAffinity", NumberDataViewType.Single, cAff.Length, aff.ToArray(), cAff.Select(c => header[c]).ToArray()));
            SimulationLog.Info(mlContext, $"Open Bandit: {n} rows from {path}; CTR {click.Count(b => b) / (double)n:P2}.");
            return new InMemoryDataView(n, cols);
        }

        /// <summary>
        /// Loads an Open Bandit <c>item_context.csv</c>: one row per arm with <c>ItemId</c> (UInt32, 0-based arm),
        /// <c>ItemFeature0</c> (Single) and <c>ItemFeatures</c> (Vector&lt;String&gt;: the hashed <c>item_feature_1..</c> columns).
        /// </summary>
        /// <param name="mlContext">The ML.NET context (its log receives a summary line); may be null.</param>
        /// <param name="path">Path of e.g. <c>open-bandit-small/random/men/item_context.csv</c>.</param>
        /// <exception cref="System.IO.FileNotFoundException">The file does not exist (the message names the path).</exception>
        /// <exception cref="FormatException">A missing column, a line with the wrong number of fields or a value that does not
        /// parse (the message names the file, the line and the column).</exception>
        public static IDataView LoadItemContext(MLContext? mlContext, string path)
        {
            TextParsing.RequireFile(path, "Open Bandit item context");
            using var lines = TextParsing.ReadLines(path).GetEnumerator();
            if (!lines.MoveNext())
                throw TextParsing.Error(path, 1, "the file is empty; expected a header row.");
            var header = lines.Current.Split(',');
            int cItem = Array.IndexOf(header, "item_id"), cF0 = Array.IndexOf(header, "item_feature_0");
            if (cItem < 0 || cF0 < 0)
                throw TextParsing.Error(path, 1, $"the header needs 'item_id' and 'item_feature_0' columns (found: {TextParsing.Trunc(string.Join(",", header))}).");
            var cCat = Enumerable.Range(0, header.Length).Where(i => i != cF0 && header[i].StartsWith("item_feature_", StringComparison.Ordinal)).ToArray();
            var ids = new List<uint>();
            var f0 = new List<float>();
            var cat = new List<ReadOnlyMemory<char>>();
            long lineNo = 1;
            while (lines.MoveNext())
            {
                lineNo++;
                if (lines.Current.Trim().Length == 0)
                    continue;
                var f = lines.Current.Split(',');
                if (f.Length != header.Length)
                    throw TextParsing.Error(path, lineNo, $"expected {header.Length} comma-separated fields (as in the header), found {f.Length}.");
                ids.Add(TextParsing.UInt(path, lineNo, "item_id", f[cItem]));
                f0.Add(TextParsing.Float(path, lineNo, "item_feature_0", f[cF0]));
                foreach (int c in cCat)
                    cat.Add(f[c].AsMemory());
            }
            if (ids.Count == 0)
                throw TextParsing.Error(path, lineNo, "the file has no data rows.");
            SimulationLog.Info(mlContext, $"Open Bandit item context: {ids.Count} items from {path}.");
            var cols = new List<InMemoryDataView.Column>
            {
                InMemoryDataView.Scalar("ItemId", NumberDataViewType.UInt32, ids.ToArray()),
                InMemoryDataView.Scalar("ItemFeature0", NumberDataViewType.Single, f0.ToArray()),
            };
            if (cCat.Length > 0)
                cols.Add(InMemoryDataView.Vector("ItemFeatures", TextDataViewType.Instance, cCat.Length, cat.ToArray(), cCat.Select(c => header[c]).ToArray()));
            return new InMemoryDataView(ids.Count, cols);
        }
    }
}
