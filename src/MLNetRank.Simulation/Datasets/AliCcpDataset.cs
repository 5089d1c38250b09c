using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Simulation.Data;

namespace MLNetRank.Simulation.Datasets
{
    /// <summary>
    /// Loader of Ali-CCP (Alibaba click and conversion prediction, the ESMM paper's data) in the CSV layout of
    /// torch-rechub's samples (MIT): a header <c>click,purchase,&lt;sparse feature fields&gt;,&lt;dense fields starting with 'D'&gt;</c>.
    /// </summary>
    /// <remarks>
    /// Output schema: <c>Click</c> and <c>Purchase</c> (Boolean), one UInt32 column per sparse field named <c>F&lt;field&gt;</c>
    /// (e.g. <c>F101</c>, <c>F109_14</c>; the values are categorical ids), one Single column per dense field with its own name
    /// (e.g. <c>D109_14</c>), and the vectors <c>SparseFeatures</c> (Vector&lt;UInt32&gt;) and <c>DenseFeatures</c>
    /// (Vector&lt;Single&gt;) with the field names as slot names.
    /// </remarks>
    public static class AliCcpDataset
    {
        /// <summary>Loads one Ali-CCP CSV file.</summary>
        /// <param name="mlContext">The ML.NET context (its log receives a summary line); may be null.</param>
        /// <param name="path">Path of e.g. <c>ali-ccp-sample/ali_ccp_train_sample.csv</c>.</param>
        /// <exception cref="System.IO.FileNotFoundException">The file does not exist (the message names the path).</exception>
        /// <exception cref="FormatException">A missing <c>click</c>/<c>purchase</c> column, a line with the wrong number of fields,
        /// a purchase without a click, or a value that does not parse (the message names the file, the line and the column).</exception>
        public static IDataView Load(MLContext? mlContext, string path)
        {
            TextParsing.RequireFile(path, "Ali-CCP");
            using var lines = TextParsing.ReadLines(path).GetEnumerator();
            if (!lines.MoveNext())
                throw TextParsing.Error(path, 1, "the file is empty; expected a header row.");
            var header = lines.Current.Split(',').Select(h => h.Trim()).ToArray();
            int cClick = Array.IndexOf(header, "click"), cBuy = Array.IndexOf(header, "purchase");
            if (cClick < 0 || cBuy < 0)
                throw TextParsing.Error(path, 1, $"the header needs 'click' and 'purchase' columns (found: {TextParsing.Trunc(string.Join(",", header))}).");
            var sparseCols = Enumerable.Range(0, header.Length).Where(i => i != cClick && i != cBuy && !header[i].StartsWith("D", StringComparison.Ordinal)).ToArray();
            var denseCols = Enumerable.Range(0, header.Length).Where(i => header[i].StartsWith("D", StringComparison.Ordinal)).ToArray();
            var click = new List<bool>();
            var buy = new List<bool>();
            var sparse = new List<uint>();
            var dense = new List<float>();
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
                bool c = TextParsing.Binary(path, lineNo, "click", f[cClick]);
                bool b = TextParsing.Binary(path, lineNo, "purchase", f[cBuy]);
                if (b && !c)
                    throw TextParsing.Error(path, lineNo, "purchase = 1 without a click; Ali-CCP purchases follow clicks.");
                click.Add(c);
                buy.Add(b);
                foreach (int i in sparseCols)
                    sparse.Add(TextParsing.UInt(path, lineNo, header[i], f[i].Trim()));
                foreach (int i in denseCols)
                    dense.Add(TextParsing.Float(path, lineNo, header[i], f[i].Trim()));
            }
            int n = click.Count;
            if (n == 0)
                throw TextParsing.Error(path, lineNo, "the file has no data rows.");
            var cols = new List<InMemoryDataView.Column>
            {
                InMemoryDataView.Scalar("Click", BooleanDataViewType.Instance, click.ToArray()),
                InMemoryDataView.Scalar("Purchase", BooleanDataViewType.Instance, buy.ToArray()),
            };
            var sp = sparse.ToArray();
            for (int j = 0; j < sparseCols.Length; j++)
            {
                var v = new uint[n];
                for (int i = 0; i < n; i++)
                    v[i] = sp[i * sparseCols.Length + j];
                cols.Add(InMemoryDataView.Scalar("F" + header[sparseCols[j]], NumberDataViewType.UInt32, v));
            }
            var de = dense.ToArray();
            for (int j = 0; j < denseCols.Length; j++)
            {
                var v = new float[n];
                for (int i = 0; i < n; i++)
                    v[i] = de[i * denseCols.Length + j];
                cols.Add(InMemoryDataView.Scalar(header[denseCols[j]], NumberDataViewType.Single, v));
            }
            if (sparseCols.Length > 0)
                cols.Add(InMemoryDataView.Vector("SparseFeatures", NumberDataViewType.UInt32, sparseCols.Length, sp, sparseCols.Select(i => header[i]).ToArray()));
            if (denseCols.Length > 0)
                cols.Add(InMemoryDataView.Vector("DenseFeatures", NumberDataViewType.Single, denseCols.Length, de, denseCols.Select(i => header[i]).ToArray()));
            SimulationLog.Info(mlContext, $"Ali-CCP: {n} rows from {path}; {click.Count(x => x)} clicks, {buy.Count(x => x)} purchases.");
            return new InMemoryDataView(n, cols);
        }
    }
}
