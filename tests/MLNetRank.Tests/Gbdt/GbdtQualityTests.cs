using Microsoft.ML;
using MLNetRank.Gbdt;
using Xunit;

namespace MLNetRank.Tests.Gbdt
{
    public class GbdtQualityTests
    {
        [Fact]
        [Trait("Category", "Quality")]
        public void GbdtPlusLogisticRegressionBeatsLogisticRegressionOnAnInteraction()
        {
            // The label depends on sign(x0 * x1), which no linear function of the raw features can express; the trees'
            // leaves can. Trees are fit on their own split (leakage control), LR on another, metrics on a third.
            const int f = 6;
            var ml = new MLContext(seed: 2024);
            var treeSplit = GbdtTestData.Load(ml, GbdtTestData.Rows(3000, f, seed: 1), f);
            var lrSplit = GbdtTestData.Load(ml, GbdtTestData.Rows(3000, f, seed: 2), f);
            var test = GbdtTestData.Load(ml, GbdtTestData.Rows(3000, f, seed: 3), f);

            var lr = ml.BinaryClassification.Trainers.LbfgsLogisticRegression().Fit(lrSplit);
            var lrMetrics = ml.BinaryClassification.Evaluate(lr.Transform(test));

            var gbdtLr = ml.Ranker().Trainers.GbdtLogisticRegression(new GbdtLeafEncodingEstimator.Options
            {
                FittingData = treeSplit,
                NumberOfTrees = 30,
                NumberOfLeaves = 8,
                MinimumExampleCountPerLeaf = 20,
            }).Fit(lrSplit);
            var gbdtLrMetrics = ml.BinaryClassification.Evaluate(gbdtLr.Transform(test));

            Assert.True(gbdtLrMetrics.AreaUnderRocCurve > lrMetrics.AreaUnderRocCurve + 0.1,
                $"GBDT+LR AUC {gbdtLrMetrics.AreaUnderRocCurve:F4} vs LR {lrMetrics.AreaUnderRocCurve:F4}");
            Assert.True(gbdtLrMetrics.LogLoss < lrMetrics.LogLoss,
                $"GBDT+LR log-loss {gbdtLrMetrics.LogLoss:F4} vs LR {lrMetrics.LogLoss:F4}");
        }
    }
}
