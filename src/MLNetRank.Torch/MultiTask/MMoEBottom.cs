using System;
using System.Linq;
using MLNetRank.Onnx;
using MLNetRank.Torch.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// MMoE: E experts (ReLU MLPs with the same layer sizes) and one softmax gate per task over them. The experts are
    /// fused, as PyTorch MMoE code writes them: their first layers are one <c>Linear(n, E·h1)</c> (one matrix product for
    /// all experts), each later layer is one batched product over an <c>[E, h_in, h_out]</c> weight (<c>bmm</c> + bias), the
    /// gates are one <c>Linear(n, tasks·E)</c> and the mixture is one batched product per batch. Same parameters and the
    /// same function as E separate MLPs and per-task gates, far fewer (and larger) kernels. The ONNX export writes the
    /// same fused graph (Gemm, Reshape/Transpose, batched MatMul).
    /// </summary>
    internal sealed class MMoEBottom : Bottom
    {
        private readonly Linear first;                         // n -> E * h1
        private readonly ParameterList weights = new();        // [E, h_in, h_out] per later layer
        private readonly ParameterList biases = new();         // [E, 1, h_out]
        private readonly Linear gates;                         // n -> tasks * E
        private readonly Dropout? dropout;
        private readonly int _experts, _tasks, _h1;

        // gateInputSize: width of the gates' input when it differs from the experts' (forward and Export then take two
        // inputs, the experts' and the gates'); -1 = the gates read the experts' input.
        public MMoEBottom(int inputSize, int tasks, int expertCount, int[] layers, float dropout, int gateInputSize = -1) : base("mmoe")
        {
            if (layers.Length == 0)
                throw new ArgumentException("MMoE experts need at least one layer.", nameof(layers));
            _experts = expertCount;
            _tasks = tasks;
            _h1 = layers[0];
            first = nn.Linear(inputSize, expertCount * layers[0]);
            for (int i = 1; i < layers.Length; i++)
            {
                // nn.Linear's default initialisation, per expert: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
                double bound = 1.0 / Math.Sqrt(layers[i - 1]);
                weights.Add(new Parameter(empty(expertCount, layers[i - 1], layers[i]).uniform_(-bound, bound)));
                biases.Add(new Parameter(empty(expertCount, 1, layers[i]).uniform_(-bound, bound)));
            }
            OutputSize = layers[^1];
            gates = nn.Linear(gateInputSize < 0 ? inputSize : gateInputSize, tasks * expertCount);
            if (dropout > 0)
                this.dropout = nn.Dropout(dropout);
            RegisterComponents();
        }

        public override int OutputSize { get; }

        public override Tensor[] forward(Tensor[] x)
        {
            var input = x[0];
            long b = input.shape[0];
            var h = nn.functional.relu(first.forward(input));                      // [B, E*h1]
            if (dropout is not null)
                h = dropout.forward(h);
            h = h.view(b, _experts, _h1).transpose(0, 1);                          // [E, B, h1]
            for (int i = 0; i < weights.Count; i++)
            {
                h = nn.functional.relu(bmm(h, weights[i]).PlusInPlace(biases[i]));        // [E, B, h] (TorchSharp 0.107's baddbmm mis-broadcasts the bias)
                if (dropout is not null)
                    h = dropout.forward(h);
            }
            var g = nn.functional.softmax(gates.forward(x.Length > 1 ? x[1] : input).view(b, _tasks, _experts), 2); // [B, T, E]
            var mixed = bmm(g, h.transpose(0, 1));                                  // [B, T, h]
            var outputs = new Tensor[_tasks];
            for (int t = 0; t < _tasks; t++)
                outputs[t] = mixed.select(1, t);
            return outputs;
        }

        public override string[] Export(OnnxGraphBuilder g, string[] x)
        {
            var h = g.Relu(g.Linear(x[0], first));                                  // [N, E*h1]
            h = g.Transpose(g.Reshape(h, new long[] { 0, _experts, _h1 }), new long[] { 1, 0, 2 }); // [E, N, h1]
            for (int i = 0; i < weights.Count; i++)
                h = g.Relu(g.Add(g.MatMul(h, g.AddTensor(weights[i], "expert_weight")), g.AddTensor(biases[i], "expert_bias")));
            var gate = g.Softmax(g.Reshape(g.Linear(x.Length > 1 ? x[1] : x[0], gates), new long[] { 0, _tasks, _experts }), 2); // [N, T, E]
            var mixed = g.MatMul(gate, g.Transpose(h, new long[] { 1, 0, 2 }));      // [N, T, h]
            var outputs = new string[_tasks];
            for (int t = 0; t < _tasks; t++)
                outputs[t] = g.Squeeze(g.Slice(mixed, new long[] { t }, new long[] { t + 1 }, new long[] { 1 }), new long[] { 1 });
            return outputs;
        }
    }
}
