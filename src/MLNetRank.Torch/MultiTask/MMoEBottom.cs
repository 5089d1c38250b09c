using System;
using System.Collections.Generic;
using System.Linq;
using MLNetRank.Onnx;
using MLNetRank.Torch.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    internal sealed class MMoEBottom : Bottom
    {
        private readonly ModuleList<Mlp> experts = new();
        private readonly ModuleList<Linear> gates = new();

        public MMoEBottom(int inputSize, int tasks, int expertCount, int[] layers, float dropout) : base("mmoe")
        {
            for (int e = 0; e < expertCount; e++)
                experts.Add(new Mlp($"expert{e}", inputSize, layers, dropout));
            for (int t = 0; t < tasks; t++)
                gates.Add(nn.Linear(inputSize, expertCount));
            RegisterComponents();
        }

        public override int OutputSize => experts[0].OutputSize;

        public override Tensor[] forward(Tensor[] x)
        {
            var e = experts.Select(m => m.forward(x[0])).ToArray();
            return gates.Select(g => Mix(e, g.forward(x[0]))).ToArray();
        }

        public override string[] Export(OnnxGraphBuilder g, string[] x)
        {
            var e = experts.Select(m => m.Export(g, x[0])).ToArray();
            return gates.Select(gate => ExportMix(g, e, g.Linear(x[0], gate))).ToArray();
        }
    }
}
