using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Torch.MultiTask;

namespace MLNetRank.Benchmarks.Debiasing
{
    public sealed partial class DebiasLetorBench
    {
        /// <summary>
        /// Debiasing method 2 on the LETOR clicks: the multi-task trainer (one binary Click task on the documents' features)
        /// trained on the impression log without any position term (naive), with an additive position bias tower, and with
        /// PAL's product form. Same network and budget for the three (shared bottom [64, 32], tower [16], 3 epochs, batch
        /// 512, Adam 1e-3, 1 thread); the tower sees only the position (buckets 1..10, 10+) and is left out of the scored
        /// model, so the test documents are ranked by the position-free score.
        /// </summary>
        static partial void TrainBiasTower(BiasTowerInput input, List<(string Name, float[] Scores)> rows)
        {
            var ml = input.Context;
            var log = input.ClickLog();
            foreach (var (name, combine) in new (string, BiasCombination?)[]
            {
                ("naive: network on clicks (multi-task trainer, no position term)", null),
                ("bias tower: network + additive position tower", BiasCombination.Additive),
                ("bias tower: network + PAL position tower (product)", BiasCombination.Product),
            })
            {
                var o = new MultiTaskEstimator.Options
                {
                    Architecture = MultiTaskArchitecture.SharedBottom, ExpertLayers = new[] { 64, 32 }, TowerLayers = new[] { 16 },
                    Epochs = 3, BatchSize = 512, LearningRate = 1e-3, ShuffleBufferSize = 200_000, Seed = input.Seed, NumberOfThreads = 1,
                };
                o.Features.Add(new DenseFeature("Features"));
                var click = new TaskSpec("Click", "Click");
                if (combine is BiasCombination c)
                    click.TrainingOnlyLogitAdjustments.Add(new PositionBiasTower("Position") { MaximumPosition = 10, Combine = c });
                o.Tasks.Add(click);
                using var model = ml.Ranker().Trainers.MultiTask(o).Fit(log);
                var scored = model.Transform(input.Test);
                rows.Add((name, scored.GetColumn<float[]>("ClickScore").Select(v => v[0]).ToArray()));
            }
        }
    }
}
