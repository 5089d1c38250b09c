using System;
using System.Collections.Generic;
using Microsoft.ML;
using MLNetRank.Common;
using Xunit;

namespace MLNetRank.Tests.Common
{
    public class RankerLogTests
    {
        private sealed class ListProgress : IProgress<RankerProgress>
        {
            public List<RankerProgress> Values { get; } = new();
            public void Report(RankerProgress value) => Values.Add(value);
        }

        [Fact]
        public void MessagesReachMLContextLogAndProgress()
        {
            var ml = new MLContext(seed: 1);
            var seen = new List<string>();
            ml.Log += (_, e) => { if (e.Source == "MLNetRank.Test") seen.Add($"{e.Kind}:{e.RawMessage}"); };
            var progress = new ListProgress();
            using (var log = new RankerLog(ml, "Test"))
            {
                log.Progress(progress, "epoch", 0.3, "epoch 3");
                log.Warning("careful");
                // the one payload type: an IProgress<RankerProgress> also takes a component's subclass (IProgress<in T>)
                IProgress<MLNetRank.Graph.Metapath2VecProgress> forGraph = progress;
                log.Progress(forGraph, new MLNetRank.Graph.Metapath2VecProgress { Stage = "walks", Fraction = 0, TotalTokens = 7 }, "walks");
            }
            Assert.Contains("Info:epoch 3", seen);
            Assert.Contains("Info:walks", seen);
            Assert.Contains("Warning:careful", seen);
            Assert.Equal(2, progress.Values.Count);
            var first = progress.Values[0];
            Assert.Equal(("Test", "epoch", 0.3, "epoch 3"), (first.Component, first.Stage, first.Fraction!.Value, first.Message));
            var second = Assert.IsType<MLNetRank.Graph.Metapath2VecProgress>(progress.Values[1]);
            Assert.Equal(("Test", "walks", 7L, "walks"), (second.Component, second.Stage, second.TotalTokens, second.ToString()));
        }
    }
}
