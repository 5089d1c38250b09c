using System;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Tests.Foundation
{
    /// <summary>
    /// TorchSharp must load here with no manual step (on Debian 12 / Ubuntu 22.04 the build marks
    /// libLibTorchSharp.so's GLIBCXX_3.4.32 requirement weak) and must actually learn.
    /// </summary>
    public class TorchSharpLoadsTests
    {
        [Fact]
        public void SmallNetworkLearnsXor()
        {
            torch.manual_seed(1);
            int threads = torch.get_num_threads(); // process-wide: restore it for the other tests
            torch.set_num_threads(1);
            try
            {
                LearnXor();
            }
            finally
            {
                torch.set_num_threads(threads);
            }
        }

        private static void LearnXor()
        {
            var x = torch.tensor(new float[] { 0, 0, 0, 1, 1, 0, 1, 1 }, 4, 2);
            var y = torch.tensor(new float[] { 0, 1, 1, 0 }, 4, 1);
            var net = nn.Sequential(("l1", nn.Linear(2, 16)), ("a", nn.Tanh()), ("l2", nn.Linear(16, 1)));
            var opt = optim.Adam(net.parameters(), lr: 0.05);
            var lossFn = nn.BCEWithLogitsLoss();
            float first = float.NaN, last = float.NaN;
            for (int step = 0; step < 400; step++)
            {
                using var scope = NewDisposeScope();
                opt.zero_grad();
                var loss = lossFn.forward(net.forward(x), y);
                loss.backward();
                opt.step();
                last = loss.item<float>();
                if (step == 0)
                    first = last;
            }
            // A linear model cannot go below ln 2 = 0.693 on XOR; only a learned hidden layer can.
            Assert.True(first > 0.6f, $"initial loss {first}");
            Assert.True(last < 0.05f, $"final loss {last} (XOR needs the hidden layer to be learned)");
            using var p = torch.sigmoid(net.forward(x));
            var probs = p.data<float>().ToArray();
            Assert.True(probs[0] < 0.1 && probs[1] > 0.9 && probs[2] > 0.9 && probs[3] < 0.1, string.Join(",", probs));
        }
    }
}
