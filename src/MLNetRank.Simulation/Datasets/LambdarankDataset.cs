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
    /// Loader of learning-to-rank data in LibSVM / LETOR format: either with a LightGBM-style <c>.query</c> file (one query size
    /// per line), such as LightGBM's <c>examples/lambdarank/rank.train</c> + <c>rank.train.query</c> (MIT), or standard LETOR
    /// lines <c>label qid:N index:value ... # comment</c> (LETOR 3/4, MSLR-WEB, Yahoo! LTR, Istella), whose <c>qid</c> tokens
    /// give the queries.
    /// </summary>
    /// <remarks>
    /// Output schema: <c>Label</c> (Single, the graded relevance), <c>Features</c> (Vector&lt;Single&gt; of known size, dense;
    /// LibSVM index k goes to slot k-1, slot names <c>f1</c>..<c>fN</c>), <c>GroupId</c> (Key&lt;UInt32&gt; with one key per
    /// query, values 1..QueryCount in file order, as ML.NET's ranking trainers expect), <c>QueryIndex</c> (Int32, 0-based) and
    /// <c>DocumentIndex</c> (Int32, 0-based position of the document inside its query).
    /// </remarks>
    public static class LambdarankDataset
    {
        /// <summary>Loads a LibSVM / LETOR ranking file, with its query file when there is one.</summary>
        /// <param name="mlContext">The ML.NET context (its log receives a summary line); may be null.</param>
        /// <param name="dataPath">The data file: <c>label [qid:N] index:value index:value ... [# comment]</c> per line (indices 1-based,
        /// increasing; gzip is decompressed transparently).</param>
        /// <param name="queryPath">The query file (one document count per line). Default: <paramref name="dataPath"/> + ".query" when
        /// that file exists, else the <c>qid</c> tokens of the data file (every line must then have one, and the lines of a query must
        /// be contiguous, as in every LETOR distribution).</param>
        /// <param name="featureCount">Number of features; default the largest index in the file.</param>
        /// <exception cref="System.IO.FileNotFoundException">A file does not exist (the message names the path), or there is no query
        /// file and the data file has no <c>qid</c> tokens.</exception>
        /// <exception cref="FormatException">A malformed line (the message names the file, the line and the token), or query sizes
        /// that do not add up to the number of documents, or (without a query file) a line without <c>qid</c> or a query whose
        /// lines are not contiguous.</exception>
        public static IDataView Load(MLContext? mlContext, string dataPath, string? queryPath = null, int? featureCount = null)
        {
            TextParsing.RequireFile(dataPath, "LibSVM ranking");
            bool fromQid = queryPath is null && !System.IO.File.Exists(dataPath + ".query");
            queryPath ??= dataPath + ".query";
            if (!fromQid)
                TextParsing.RequireFile(queryPath, "query");
            if (featureCount is <= 0)
                throw new ArgumentOutOfRangeException(nameof(featureCount), featureCount, "featureCount must be positive.");

            var sizes = new List<int>();
            long qLine = 0;
            foreach (var raw in fromQid ? Array.Empty<string>() : TextParsing.ReadLines(queryPath))
            {
                qLine++;
                var t = raw.Trim();
                if (t.Length == 0)
                    continue;
                int s = TextParsing.Int(queryPath, qLine, "query size", t);
                if (s <= 0)
                    throw TextParsing.Error(queryPath, qLine, $"query size {s} must be positive.");
                sizes.Add(s);
            }

            var labels = new List<float>();
            var rows = new List<(int[] idx, float[] val)>();
            int maxIndex = 0;
            long lineNo = 0;
            var idx = new List<int>();
            var val = new List<float>();
            var seenQids = new HashSet<string>(StringComparer.Ordinal);
            string? currentQid = null;
            foreach (var raw in TextParsing.ReadLines(dataPath))
            {
                lineNo++;
                var line = raw;
                int hash = line.IndexOf('#');
                if (hash >= 0)
                    line = line.Substring(0, hash);
                var tokens = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (tokens.Length == 0)
                    continue;
                labels.Add(TextParsing.Float(dataPath, lineNo, "label", tokens[0]));
                idx.Clear();
                val.Clear();
                int last = 0;
                string? qid = null;
                for (int k = 1; k < tokens.Length; k++)
                {
                    var tok = tokens[k];
                    int colon = tok.IndexOf(':');
                    if (colon <= 0)
                        throw TextParsing.Error(dataPath, lineNo, $"token '{TextParsing.Trunc(tok)}' is not 'index:value'.");
                    var key = tok.Substring(0, colon);
                    if (key == "qid")
                    {
                        qid = tok.Substring(colon + 1);
                        continue;
                    }
                    if (!int.TryParse(key, NumberStyles.Integer, CultureInfo.InvariantCulture, out int index) || index < 1)
                        throw TextParsing.Error(dataPath, lineNo, $"token '{TextParsing.Trunc(tok)}' has an invalid feature index (expected an integer >= 1).");
                    if (index <= last)
                        throw TextParsing.Error(dataPath, lineNo, $"feature index {index} is not greater than the previous one ({last}).");
                    if (featureCount.HasValue && index > featureCount.Value)
                        throw TextParsing.Error(dataPath, lineNo, $"feature index {index} exceeds featureCount = {featureCount.Value}.");
                    last = index;
                    idx.Add(index - 1);
                    val.Add(TextParsing.Float(dataPath, lineNo, $"feature {index}", tok.Substring(colon + 1)));
                }
                maxIndex = Math.Max(maxIndex, last);
                rows.Add((idx.ToArray(), val.ToArray()));
                if (fromQid)
                {
                    if (qid is null)
                    {
                        if (rows.Count == 1)
                            throw new System.IO.FileNotFoundException(
                                $"The query file was not found: '{System.IO.Path.GetFullPath(queryPath)}', and the first line of {System.IO.Path.GetFileName(dataPath)} has no 'qid:' token: " +
                                "give the query sizes in a .query file or a qid on every line.", queryPath);
                        throw TextParsing.Error(dataPath, lineNo, "the line has no 'qid:N' token (the earlier lines have one; without a .query file every line needs it).");
                    }
                    if (qid != currentQid)
                    {
                        if (!seenQids.Add(qid))
                            throw TextParsing.Error(dataPath, lineNo, $"qid {TextParsing.Trunc(qid)} appears again after other queries: the lines of a query must be contiguous.");
                        currentQid = qid;
                        sizes.Add(0);
                    }
                    sizes[sizes.Count - 1]++;
                }
            }
            int n = rows.Count;
            if (n == 0)
                throw TextParsing.Error(dataPath, lineNo, "the file has no documents.");
            long total = sizes.Sum(s => (long)s);
            if (total != n)
                throw new FormatException($"{System.IO.Path.GetFileName(queryPath)}: the query sizes add up to {total} documents but {System.IO.Path.GetFileName(dataPath)} has {n} [files: {queryPath}, {dataPath}].");
            int dim = featureCount ?? maxIndex;
            if (dim == 0)
                dim = 1;
            var features = new float[n * dim];
            for (int i = 0; i < n; i++)
                for (int k = 0; k < rows[i].idx.Length; k++)
                    features[i * dim + rows[i].idx[k]] = rows[i].val[k];
            var group = new uint[n];
            var qIndex = new int[n];
            var dIndex = new int[n];
            int r = 0;
            for (int q = 0; q < sizes.Count; q++)
                for (int d = 0; d < sizes[q]; d++, r++)
                {
                    group[r] = (uint)q + 1;
                    qIndex[r] = q;
                    dIndex[r] = d;
                }
            SimulationLog.Info(mlContext, $"LibSVM ranking: {n} documents, {sizes.Count} queries ({(fromQid ? "qid tokens" : "query file")}), {dim} features from {dataPath}.");
            return new InMemoryDataView(n, new[]
            {
                InMemoryDataView.Scalar("Label", NumberDataViewType.Single, labels.ToArray()),
                InMemoryDataView.Vector("Features", NumberDataViewType.Single, dim, features, Enumerable.Range(1, dim).Select(i => "f" + i.ToString(CultureInfo.InvariantCulture)).ToArray()),
                InMemoryDataView.Scalar("GroupId", new KeyDataViewType(typeof(uint), sizes.Count), group),
                InMemoryDataView.Scalar("QueryIndex", NumberDataViewType.Int32, qIndex),
                InMemoryDataView.Scalar("DocumentIndex", NumberDataViewType.Int32, dIndex),
            });
        }
    }
}
