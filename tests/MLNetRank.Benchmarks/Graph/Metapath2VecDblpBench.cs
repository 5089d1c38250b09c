using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Graph;
using MLNetRank.Simulation.Datasets;

namespace MLNetRank.Benchmarks.Graph
{
    /// <summary>
    /// DBLP four-area author classification: metapath2vec (APVPA) embeddings, multinomial logistic regression
    /// trained on 20/40/60/80% of the labelled authors, Macro/Micro-F1 on the rest, averaged over random splits.
    /// The data's licence forbids committing it: pass the folder of MAGNN's data/raw/DBLP.
    /// </summary>
    public sealed class Metapath2VecDblpBench : IBench
    {
        /// <inheritdoc />
        public string Name => "metapath2vec-dblp";

        /// <inheritdoc />
        public string Description => "DBLP four-area author classification Macro/Micro-F1 (--path <MAGNN data/raw/DBLP>)";

        private sealed class AuthorRow
        {
            public uint AuthorId { get; set; }
            public uint Label { get; set; }
        }

        private static readonly Option<string> DataPath = BenchOption.Required<string>("--path", "MAGNN's data/raw/DBLP folder");
        private static readonly Option<string> Metapaths = BenchOption.Of("--metapath", "Author-Paper-Conf-Paper-Author", "metapaths, comma-separated");
        private static readonly Option<string> Variant = BenchOption.OneOf("--variant", "plain", "metapath2vec or metapath2vec++", "plain", "plus");
        private static readonly Option<int> Dim = BenchOption.Of("--dim", 128, "embedding dimension");
        private static readonly Option<int> Walks = BenchOption.Of("--walks", 40, "walks per node");
        private static readonly Option<int> Length = BenchOption.Of("--length", 100, "walk length");
        private static readonly Option<int> Window = BenchOption.Of("--window", 7, "skip-gram window");
        private static readonly Option<int> Epochs = BenchOption.Of("--epochs", 1, "epochs");
        private static readonly Option<int> Threads = BenchOption.Of("--threads", 2, "threads (NumberOfThreads)");
        private static readonly Option<int> Splits = BenchOption.Of("--splits", 5, "cross-validation splits");

        /// <inheritdoc />
        public int Run(ParseResult args)
        {
            string path = args.GetValue(DataPath)!;
            var ml = new MLContext(1);
            var sw = Stopwatch.StartNew();
            var dblp = DblpFourArea.Load(path);
            Console.WriteLine($"DBLP: {dblp.AuthorCount} authors, {dblp.PaperCount} papers, {dblp.ConferenceCount} conferences, {dblp.TermCount} terms, {dblp.Edges.Count} edges, {dblp.AuthorLabels.Count} labelled authors (loaded in {sw.Elapsed.TotalSeconds:F1}s)");
            var o = new Metapath2VecEstimator.Options
            {
                Metapaths = args.GetValue(Metapaths)!.Split(','),
                Dimension = args.GetValue(Dim),
                WalksPerNode = args.GetValue(Walks),
                WalkLength = args.GetValue(Length),
                WindowSize = args.GetValue(Window),
                NegativeSamples = 5,
                Epochs = args.GetValue(Epochs),
                NumberOfThreads = args.GetValue(Threads),
                Variant = args.GetValue(Variant) == "plus" ? Metapath2VecVariant.Metapath2VecPlusPlus : Metapath2VecVariant.Metapath2Vec,
                Seed = 1,
            };
            var labels = dblp.GetAuthorLabels(ml);
            sw.Restart();
            var model = ml.Ranker().Transforms.Metapath2Vec(dblp.GetEdges(ml), o, new InputOutputColumnPair("Features", "AuthorId")).Fit(labels);
            Console.WriteLine($"metapath2vec ({o.Variant}, {string.Join(",", o.Metapaths)}, dim {o.Dimension}, {o.WalksPerNode} walks/node, length {o.WalkLength}, window {o.WindowSize}, epochs {o.Epochs}): " +
                              $"{model.Summary.TokensPerEpoch:N0} tokens, fit {sw.Elapsed.TotalSeconds:F1}s ({model.Summary.TokensPerSecond:N0} tokens/s)");
            var rows = ml.Data.CreateEnumerable<AuthorRow>(labels, false).ToList();
            var emb = model.Transform(labels).GetColumn<float[]>("Features").ToArray();
            int splits = args.GetValue(Splits);
            Console.WriteLine();
            Console.WriteLine("| train share | Macro-F1 | Micro-F1 |");
            Console.WriteLine("|---|---|---|");
            foreach (var share in new[] { 0.2, 0.4, 0.6, 0.8 })
            {
                double macro = 0, micro = 0;
                for (int s = 0; s < splits; s++)
                {
                    var rng = new Random(1000 + s);
                    var order = Enumerable.Range(0, rows.Count).OrderBy(_ => rng.Next()).ToArray();
                    int nTrain = (int)(rows.Count * share);
                    var (ma, mi) = Classify(ml, rows, emb, order.Take(nTrain).ToArray(), order.Skip(nTrain).ToArray());
                    macro += ma;
                    micro += mi;
                }
                Console.WriteLine($"| {share:P0} | {macro / splits:F4} | {micro / splits:F4} |");
            }
            Console.WriteLine("\npublished (for reference): metapath2vec APVPA on this data, OpenHGNN benchmark: Macro-F1 0.924, Micro-F1 0.929.");
            return 0;
        }

        private sealed class Example
        {
            public uint Label { get; set; }
            public float[] Features { get; set; } = Array.Empty<float>();
        }

        private static (double Macro, double Micro) Classify(MLContext ml, List<AuthorRow> rows, float[][] emb, int[] train, int[] test)
        {
            int d = emb[0].Length;
            var def = SchemaDefinition.Create(typeof(Example));
            def["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, d);
            IDataView View(int[] idx) => ml.Data.LoadFromEnumerable(idx.Select(i => new Example { Label = rows[i].Label, Features = emb[i] }).ToList(), def);
            var pipe = ml.Transforms.Conversion.MapValueToKey("LabelKey", "Label")
                .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy("LabelKey", "Features"));
            var model = pipe.Fit(View(train));
            var scored = model.Transform(View(test));
            var pred = scored.GetColumn<uint>("PredictedLabel").ToArray();
            var truth = scored.GetColumn<uint>("LabelKey").ToArray();
            int classes = (int)Math.Max(pred.Max(), truth.Max());
            double macro = 0;
            for (uint c = 1; c <= classes; c++)
            {
                int tp = 0, fp = 0, fn = 0;
                for (int i = 0; i < pred.Length; i++)
                {
                    if (pred[i] == c && truth[i] == c) tp++;
                    else if (pred[i] == c) fp++;
                    else if (truth[i] == c) fn++;
                }
                macro += tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
            }
            double micro = pred.Zip(truth).Count(p => p.First == p.Second) / (double)pred.Length;
            return (macro / classes, micro);
        }
    }
}
