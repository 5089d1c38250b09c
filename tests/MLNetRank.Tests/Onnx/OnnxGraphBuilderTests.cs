using System;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetRank.Onnx;
using Xunit;

namespace MLNetRank.Tests.Onnx
{
    public class OnnxGraphBuilderTests
    {
        private static void Close(float[] expected, float[] actual, double tol = 1e-5)
        {
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * Math.Max(1, Math.Abs(expected[i])),
                    $"index {i}: expected {expected[i]}, actual {actual[i]}");
        }

        [Fact]
        public void MlpMatchesCSharpForAnyBatchSize()
        {
            var rng = new Random(1);
            const int inF = 5, hidden = 4, outF = 2;
            float[] w1 = OrtRunner.Random(rng, inF * hidden), b1 = OrtRunner.Random(rng, hidden);
            float[] w2 = OrtRunner.Random(rng, hidden * outF), b2 = OrtRunner.Random(rng, outF);
            var g = new OnnxGraphBuilder("mlp");
            var x = g.AddInput("Features", new long[] { -1, inF });
            var h = g.Relu(g.Dense(x, w1, b1, inF, hidden));
            g.Sigmoid(g.Dense(h, w2, b2, hidden, outF), output: "Probability");
            g.AddOutput("Probability", new long[] { -1, outF });
            byte[] model = g.ToBytes();

            foreach (int batch in new[] { 1, 7 })
            {
                float[] input = OrtRunner.Random(rng, batch * inF, 2f);
                var hid = OrtRunner.Dense(input, batch, inF, w1, b1, hidden).Select(v => Math.Max(0f, v)).ToArray();
                var expected = OrtRunner.Dense(hid, batch, hidden, w2, b2, outF).Select(v => (float)(1 / (1 + Math.Exp(-v)))).ToArray();
                var r = OrtRunner.Run(model, ("Features", input, new long[] { batch, inF }));
                Assert.Equal(new long[] { batch, outF }, r.Shapes["Probability"]);
                Close(expected, r.Floats["Probability"]);
            }
        }

        [Fact]
        public void ModelDeclaresOpset17InputsOutputsAndMetadata()
        {
            var g = new OnnxGraphBuilder("meta") { ProducerName = "unit-test", DocString = "doc" };
            g.AddInput("Ids", TensorElementType.Int64, new long[] { -1, 3 });
            g.Identity("Ids", "Out");
            g.AddOutput("Out", TensorElementType.Int64, new long[] { -1, 3 });
            g.AddMetadata("task", "click");
            using var session = new InferenceSession(g.ToBytes());
            Assert.Equal("unit-test", session.ModelMetadata.ProducerName);
            Assert.Equal("meta", session.ModelMetadata.GraphName);
            Assert.Equal("doc", session.ModelMetadata.Description);
            Assert.Equal("click", session.ModelMetadata.CustomMetadataMap["task"]);
            var input = session.InputMetadata["Ids"];
            Assert.Equal(typeof(long), input.ElementType);
            Assert.Equal(new[] { -1, 3 }, input.Dimensions);
            Assert.Equal(OnnxGraphBuilder.BatchDimension, input.SymbolicDimensions[0]);
            Assert.Equal(new[] { "Out" }, session.OutputNames.ToArray());
        }

        [Fact]
        public void ElementwiseAndActivationOpsMatchCSharp()
        {
            var rng = new Random(2);
            float[] a = OrtRunner.Random(rng, 6), bRaw = OrtRunner.Random(rng, 6);
            float[] b = bRaw.Select(v => v + (v >= 0 ? 0.5f : -0.5f)).ToArray(); // away from 0 for Div
            var g = new OnnxGraphBuilder();
            g.AddInput("A", new long[] { -1, 3 });
            g.AddInput("B", new long[] { -1, 3 });
            g.AddOutput(g.Add("A", "B", "add"), new long[] { -1, 3 });
            g.AddOutput(g.Sub("A", "B", "sub"), new long[] { -1, 3 });
            g.AddOutput(g.Mul("A", "B", "mul"), new long[] { -1, 3 });
            g.AddOutput(g.Div("A", "B", "div"), new long[] { -1, 3 });
            g.AddOutput(g.Relu("A", "relu"), new long[] { -1, 3 });
            g.AddOutput(g.Sigmoid("A", "sigmoid"), new long[] { -1, 3 });
            g.AddOutput(g.Tanh("A", "tanh"), new long[] { -1, 3 });
            g.AddOutput(g.Exp("A", "exp"), new long[] { -1, 3 });
            g.AddOutput(g.Log(g.Exp("B"), "logexp"), new long[] { -1, 3 });
            g.AddOutput(g.Identity("A", "id"), new long[] { -1, 3 });
            var r = OrtRunner.Run(g.ToBytes(), ("A", a, new long[] { 2, 3 }), ("B", b, new long[] { 2, 3 }));
            Close(a.Zip(b, (x, y) => x + y).ToArray(), r.Floats["add"]);
            Close(a.Zip(b, (x, y) => x - y).ToArray(), r.Floats["sub"]);
            Close(a.Zip(b, (x, y) => x * y).ToArray(), r.Floats["mul"]);
            Close(a.Zip(b, (x, y) => x / y).ToArray(), r.Floats["div"]);
            Close(a.Select(x => Math.Max(0f, x)).ToArray(), r.Floats["relu"]);
            Close(a.Select(x => (float)(1 / (1 + Math.Exp(-x)))).ToArray(), r.Floats["sigmoid"]);
            Close(a.Select(x => (float)Math.Tanh(x)).ToArray(), r.Floats["tanh"]);
            Close(a.Select(x => (float)Math.Exp(x)).ToArray(), r.Floats["exp"]);
            Close(b, r.Floats["logexp"]);
            Assert.Equal(a, r.Floats["id"]);
        }

        [Fact]
        public void SoftmaxConcatTransposeReshapeMatchCSharp()
        {
            // x: [2, 3]
            float[] x = { 1f, 2f, 3f, -1f, 0f, 4f };
            var g = new OnnxGraphBuilder();
            g.AddInput("X", new long[] { -1, 3 });
            g.AddOutput(g.Softmax("X", 1, "sm1"), new long[] { -1, 3 });
            g.AddOutput(g.Softmax("X", 0, "sm0"), new long[] { -1, 3 });
            g.AddOutput(g.Concat(1, new[] { "X", g.Relu("X") }, "cat"), new long[] { -1, 6 });
            g.AddOutput(g.Transpose("X", new long[] { 1, 0 }, "tr"), new long[] { 3, -1 });
            g.AddOutput(g.Reshape("X", new long[] { 0, 3, 1 }, "rs"), new long[] { -1, 3, 1 });
            var r = OrtRunner.Run(g.ToBytes(), ("X", x, new long[] { 2, 3 }));

            float[] Softmax(float[] v) { var e = v.Select(t => Math.Exp(t)).ToArray(); var s = e.Sum(); return e.Select(t => (float)(t / s)).ToArray(); }
            Close(Softmax(x[..3]).Concat(Softmax(x[3..])).ToArray(), r.Floats["sm1"]);
            var col = Enumerable.Range(0, 3).Select(j => Softmax(new[] { x[j], x[3 + j] })).ToArray();
            Close(new[] { col[0][0], col[1][0], col[2][0], col[0][1], col[1][1], col[2][1] }, r.Floats["sm0"]);
            Close(new[] { 1f, 2f, 3f, 1f, 2f, 3f, -1f, 0f, 4f, 0f, 0f, 4f }, r.Floats["cat"]);
            Close(new[] { 1f, -1f, 2f, 0f, 3f, 4f }, r.Floats["tr"]);
            Assert.Equal(new long[] { 3, 2 }, r.Shapes["tr"]);
            Assert.Equal(new long[] { 2, 3, 1 }, r.Shapes["rs"]);
            Close(x, r.Floats["rs"]);
        }

        [Fact]
        public void EmbeddingGatherSqueezeUnsqueezeAndReductionsMatchCSharp()
        {
            const int rows = 4, dim = 3;
            float[] table = Enumerable.Range(0, rows * dim).Select(i => i * 0.5f - 1f).ToArray();
            long[] ids = { 2, 0, 3, 3, 1, 2 }; // [batch 3, 2 ids per row]
            var g = new OnnxGraphBuilder();
            g.AddInput("Ids", TensorElementType.Int64, new long[] { -1, 2 });
            var emb = g.Embedding("Ids", table, rows, dim, "emb");                       // [3, 2, 3]
            g.AddOutput(emb, new long[] { -1, 2, dim });
            g.AddOutput(g.ReduceSum(emb, new long[] { 1 }, keepDims: false, output: "sum"), new long[] { -1, dim });
            g.AddOutput(g.ReduceMean(emb, new long[] { 1 }, keepDims: false, output: "mean"), new long[] { -1, dim });
            g.AddOutput(g.ReduceSum(emb, new long[] { 1, 2 }, keepDims: true, output: "sumKeep"), new long[] { -1, 1, 1 });
            var first = g.Gather("Ids", g.AddConstant(new long[] { 0 }, new long[] { 1 }), axis: 1, output: "firstId"); // [3, 1]
            g.AddOutput(first, TensorElementType.Int64, new long[] { -1, 1 });
            var firstEmb = g.Squeeze(g.Embedding(first, table, rows, dim), new long[] { 1 }, "firstEmb"); // [3, 3]
            g.AddOutput(firstEmb, new long[] { -1, dim });
            g.AddOutput(g.Unsqueeze(firstEmb, new long[] { 1 }, "unsq"), new long[] { -1, 1, dim });
            var r = OrtRunner.Run(g.ToBytes(), ("Ids", ids, new long[] { 3, 2 }));

            var expectedEmb = ids.SelectMany(id => table.Skip((int)id * dim).Take(dim)).ToArray();
            Close(expectedEmb, r.Floats["emb"]);
            var sum = new float[3 * dim];
            for (int b = 0; b < 3; b++)
                for (int d = 0; d < dim; d++)
                    sum[b * dim + d] = expectedEmb[(b * 2) * dim + d] + expectedEmb[(b * 2 + 1) * dim + d];
            Close(sum, r.Floats["sum"]);
            Close(sum.Select(v => v / 2).ToArray(), r.Floats["mean"]);
            Close(Enumerable.Range(0, 3).Select(b => sum.Skip(b * dim).Take(dim).Sum()).ToArray(), r.Floats["sumKeep"]);
            Assert.Equal(new long[] { 3, 1, 1 }, r.Shapes["sumKeep"]);
            Assert.Equal(new long[] { 2, 3, 1 }, r.Longs["firstId"]);
            var expectedFirst = new long[] { 2, 3, 1 }.SelectMany(id => table.Skip((int)id * dim).Take(dim)).ToArray();
            Close(expectedFirst, r.Floats["firstEmb"]);
            Assert.Equal(new long[] { 3, dim }, r.Shapes["firstEmb"]);
            Assert.Equal(new long[] { 3, 1, dim }, r.Shapes["unsq"]);
        }

        [Fact]
        public void WhereCompareCastGemmAttributesAndMatMulMatchCSharp()
        {
            float[] x = { -2f, 0.5f, 3f, -0.25f };
            var g = new OnnxGraphBuilder();
            g.AddInput("X", new long[] { -1, 2 });
            var zero = g.AddConstant(new[] { 0f }, Array.Empty<long>(), "zero");
            var pos = g.Compare("Greater", "X", zero, "pos");
            g.AddOutput(pos, TensorElementType.Bool, new long[] { -1, 2 });
            g.AddOutput(g.Where(pos, "X", g.Mul("X", g.AddConstant(new[] { 0.1f }, Array.Empty<long>())), "leaky"), new long[] { -1, 2 });
            g.AddOutput(g.Cast(pos, TensorElementType.Float, "posF"), new long[] { -1, 2 });
            g.AddOutput(g.Cast("X", TensorElementType.Int64, "xi"), TensorElementType.Int64, new long[] { -1, 2 });
            // Gemm with alpha, beta and transB: 2 * X * W' + 0.5 * C, W is [3, 2] (out x in).
            float[] w = { 1f, 2f, 3f, 4f, 5f, 6f };
            float[] c = { 1f, -1f, 2f };
            var gemm = g.Gemm("X", g.AddConstant(w, new long[] { 3, 2 }), g.AddConstant(c, new long[] { 3 }), alpha: 2f, beta: 0.5f, transB: true, output: "gemm");
            g.AddOutput(gemm, new long[] { -1, 3 });
            // Dense with the TorchSharp [out, in] layout equals the transposed Gemm.
            g.AddOutput(g.Dense("X", w, c, 2, 3, weightIsOutByIn: true, output: "denseT"), new long[] { -1, 3 });
            // MatMul of a 3-D tensor by a 2-D matrix.
            var x3 = g.Reshape("X", new long[] { -1, 1, 2 });
            g.AddOutput(g.MatMul(x3, g.AddConstant(new[] { 1f, 0f, 0f, 1f, 1f, 1f }, new long[] { 2, 3 }), "mm3"), new long[] { -1, 1, 3 });
            var r = OrtRunner.Run(g.ToBytes(), ("X", x, new long[] { 2, 2 }));

            Assert.Equal(x.Select(v => v > 0).ToArray(), r.Bools["pos"]);
            Close(x.Select(v => v > 0 ? v : 0.1f * v).ToArray(), r.Floats["leaky"]);
            Close(x.Select(v => v > 0 ? 1f : 0f).ToArray(), r.Floats["posF"]);
            Assert.Equal(x.Select(v => (long)v).ToArray(), r.Longs["xi"]); // ONNX Cast truncates toward zero
            var expected = new float[6];
            for (int b = 0; b < 2; b++)
                for (int o = 0; o < 3; o++)
                    expected[b * 3 + o] = 2f * (x[b * 2] * w[o * 2] + x[b * 2 + 1] * w[o * 2 + 1]) + 0.5f * c[o];
            Close(expected, r.Floats["gemm"]);
            var dense = new float[6];
            for (int b = 0; b < 2; b++)
                for (int o = 0; o < 3; o++)
                    dense[b * 3 + o] = x[b * 2] * w[o * 2] + x[b * 2 + 1] * w[o * 2 + 1] + c[o];
            Close(dense, r.Floats["denseT"]);
            Close(new[] { x[0] + x[1], x[1], x[1], x[2] + x[3], x[3], x[3] }, r.Floats["mm3"]); // rows of M: [1,0,0], [1,1,1]
            Assert.Equal(new long[] { 2, 1, 3 }, r.Shapes["mm3"]);
        }

        [Fact]
        public void EveryAttributeKindIsWrittenCorrectly()
        {
            // Constant carries value_float (FLOAT), value_int (INT), value_floats (FLOATS), value_ints (INTS), value (TENSOR);
            // Einsum carries equation (STRING).
            var g = new OnnxGraphBuilder();
            g.AddInput("X", new long[] { -1, 2 });
            g.AddNode("Constant", Array.Empty<string>(), new[] { "cf" }, OnnxAttribute.Float("value_float", 2.5f));
            g.AddNode("Constant", Array.Empty<string>(), new[] { "ci" }, OnnxAttribute.Int("value_int", -7));
            g.AddNode("Constant", Array.Empty<string>(), new[] { "cfs" }, OnnxAttribute.Floats("value_floats", 1.5f, -2f, 3f));
            g.AddNode("Constant", Array.Empty<string>(), new[] { "cis" }, OnnxAttribute.Ints("value_ints", 4, 5, -6));
            g.AddNode("Constant", Array.Empty<string>(), new[] { "ct" }, OnnxAttribute.Tensor("value", new[] { 1f, 2f, 3f, 4f }, new long[] { 2, 2 }));
            g.AddNode("Constant", Array.Empty<string>(), new[] { "cti" }, OnnxAttribute.Tensor("value", new long[] { 9, 8 }, new long[] { 2 }));
            g.AddNode("Einsum", new[] { "X", "ct" }, new[] { "es" }, OnnxAttribute.String("equation", "bi,ij->bj"));
            g.AddOutput("cf", Array.Empty<long>());
            g.AddOutput("ci", TensorElementType.Int64, Array.Empty<long>());
            g.AddOutput("cfs", new long[] { 3 });
            g.AddOutput("cis", TensorElementType.Int64, new long[] { 3 });
            g.AddOutput("cti", TensorElementType.Int64, new long[] { 2 });
            g.AddOutput("es", new long[] { -1, 2 });
            var r = OrtRunner.Run(g.ToBytes(), ("X", new[] { 1f, -1f }, new long[] { 1, 2 }));
            Assert.Equal(new[] { 2.5f }, r.Floats["cf"]);
            Assert.Equal(new long[] { -7 }, r.Longs["ci"]);
            Assert.Equal(new[] { 1.5f, -2f, 3f }, r.Floats["cfs"]);
            Assert.Equal(new long[] { 4, 5, -6 }, r.Longs["cis"]);
            Assert.Equal(new long[] { 9, 8 }, r.Longs["cti"]);
            Assert.Equal(new[] { 1f - 3f, 2f - 4f }, r.Floats["es"]);
        }

        [Fact]
        public void SaveWritesTheSameBytesAsToBytes()
        {
            var g = new OnnxGraphBuilder();
            g.AddInput("X", new long[] { -1, 1 });
            g.AddOutput(g.Relu("X", "Y"), new long[] { -1, 1 });
            string path = Path.Combine(Path.GetTempPath(), "mlnetrank-builder-" + Guid.NewGuid().ToString("N") + ".onnx");
            try
            {
                g.Save(path);
                Assert.Equal(g.ToBytes(), File.ReadAllBytes(path));
                using var session = new InferenceSession(path);
                Assert.Equal("Y", session.OutputNames.Single());
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void InvalidGraphsGiveClearErrors()
        {
            var g = new OnnxGraphBuilder();
            g.AddInput("X", new long[] { -1, 2 });
            var undefined = Assert.Throws<InvalidOperationException>(() => g.Relu("Nope"));
            Assert.Contains("'Nope'", undefined.Message);
            var dup = Assert.Throws<InvalidOperationException>(() => g.AddInput("X", new long[] { -1, 2 }));
            Assert.Contains("'X'", dup.Message);
            var dupOut = Assert.Throws<InvalidOperationException>(() => g.Relu("X", output: "X"));
            Assert.Contains("'X'", dupOut.Message);
            var size = Assert.Throws<ArgumentException>(() => g.AddInitializer("W", new float[5], new long[] { 2, 3 }));
            Assert.Contains("'W'", size.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => g.AddInitializer("W2", new float[0], new long[] { -1 }));
            Assert.Throws<ArgumentOutOfRangeException>(() => g.AddInput("Y", new long[] { long.MinValue }));
            // -k (k >= 2) is a symbolic dimension of its own, written "dk" (distinct from the batch dimension "N")
            var sym = new OnnxGraphBuilder();
            sym.AddInput("S", new long[] { -1, -2 });
            sym.AddOutput(sym.Relu("S"), new long[] { -1, -2 });
            var text = System.Text.Encoding.UTF8.GetString(sym.ToBytes());
            Assert.Contains("d2", text);
            var noOutput = Assert.Throws<InvalidOperationException>(() => g.ToBytes());
            Assert.Contains("no output", noOutput.Message);
            var badOutput = Assert.Throws<InvalidOperationException>(() => g.AddOutput("Z", new long[] { -1 }));
            Assert.Contains("'Z'", badOutput.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => g.Compare("Max", "X", "X"));
            Assert.Throws<ArgumentException>(() => g.ReduceSum("X", Array.Empty<long>()));
        }

        [Fact]
        public void UniqueNamesNeverCollideWithUserNames()
        {
            var g = new OnnxGraphBuilder();
            g.AddInput("Relu_0", new long[] { -1, 1 });
            string a = g.Relu("Relu_0");
            string b = g.Relu(a);
            Assert.NotEqual("Relu_0", a);
            Assert.NotEqual(a, b);
            g.AddOutput(b, new long[] { -1, 1 });
            var r = OrtRunner.Run(g.ToBytes(), ("Relu_0", new[] { -1f, 2f }, new long[] { 2, 1 }));
            Assert.Equal(new[] { 0f, 2f }, r.Floats[b]);
        }

        [Fact]
        public void TheSameGraphGivesTheSameBytes()
        {
            byte[] Build(int seed)
            {
                var rng = new Random(seed);
                var g = new OnnxGraphBuilder("det");
                var x = g.AddInput("X", new long[] { -1, 3 });
                g.AddOutput(g.Sigmoid(g.Dense(x, OrtRunner.Random(rng, 6), OrtRunner.Random(rng, 2), 3, 2), "Y"), new long[] { -1, 2 });
                return g.ToBytes();
            }
            Assert.Equal(Build(1), Build(1));
            Assert.NotEqual(Build(1), Build(2));
        }

        [Fact]
        public void MoreOperatorsMatchCSharp()
        {
            // x: [2, 4]
            float[] x = { -2f, 0.5f, 3f, -0.25f, 1f, -1f, 4f, 2f };
            var g = new OnnxGraphBuilder();
            g.AddInput("X", new long[] { -1, 4 });
            var two = g.AddConstant(new[] { 2f }, Array.Empty<long>());
            g.AddOutput(g.Neg("X", "neg"), new long[] { -1, 4 });
            g.AddOutput(g.Abs("X", "abs"), new long[] { -1, 4 });
            g.AddOutput(g.Sqrt(g.Abs("X"), "sqrt"), new long[] { -1, 4 });
            g.AddOutput(g.Pow("X", two, "pow"), new long[] { -1, 4 });
            g.AddOutput(g.Max(new[] { "X", g.AddConstant(new[] { 0f }, Array.Empty<long>()) }, "max"), new long[] { -1, 4 });
            g.AddOutput(g.Min(new[] { "X", two }, "min"), new long[] { -1, 4 });
            g.AddOutput(g.LeakyRelu("X", 0.2f, "leaky"), new long[] { -1, 4 });
            g.AddOutput(g.Clip("X", -1f, 1f, "clip"), new long[] { -1, 4 });
            g.AddOutput(g.Clip("X", 0f, null, "clipLow"), new long[] { -1, 4 });
            var parts = g.Split("X", new long[] { 1, 3 }, 1, new[] { "left", "right" });
            g.AddOutput(parts[0], new long[] { -1, 1 });
            g.AddOutput(parts[1], new long[] { -1, 3 });
            g.AddOutput(g.Slice("X", new long[] { 1 }, new long[] { long.MaxValue }, new long[] { 1 }, "slice"), new long[] { -1, 3 });
            var x3 = g.Reshape("X", new long[] { -1, 2, 2 });
            g.AddOutput(g.Flatten(x3, 1, "flat"), new long[] { -1, 4 });
            g.AddOutput(g.LayerNormalization("X", new[] { 1f, 2f, 1f, 0.5f }, new[] { 0f, 1f, 0f, -1f }, 1e-5f, -1, "ln"), new long[] { -1, 4 });
            g.AddOutput(g.Expand(g.AddConstant(new[] { 7f }, new long[] { 1, 1 }), g.Shape("X"), "expand"), new long[] { -1, 4 });
            var r = OrtRunner.Run(g.ToBytes(), ("X", x, new long[] { 2, 4 }));

            Close(x.Select(v => -v).ToArray(), r.Floats["neg"]);
            Close(x.Select(Math.Abs).ToArray(), r.Floats["abs"]);
            Close(x.Select(v => (float)Math.Sqrt(Math.Abs(v))).ToArray(), r.Floats["sqrt"]);
            Close(x.Select(v => v * v).ToArray(), r.Floats["pow"]);
            Close(x.Select(v => Math.Max(v, 0f)).ToArray(), r.Floats["max"]);
            Close(x.Select(v => Math.Min(v, 2f)).ToArray(), r.Floats["min"]);
            Close(x.Select(v => v >= 0 ? v : 0.2f * v).ToArray(), r.Floats["leaky"]);
            Close(x.Select(v => Math.Clamp(v, -1f, 1f)).ToArray(), r.Floats["clip"]);
            Close(x.Select(v => Math.Max(v, 0f)).ToArray(), r.Floats["clipLow"]);
            Close(new[] { x[0], x[4] }, r.Floats["left"]);
            Close(new[] { x[1], x[2], x[3], x[5], x[6], x[7] }, r.Floats["right"]);
            Close(new[] { x[1], x[2], x[3], x[5], x[6], x[7] }, r.Floats["slice"]);
            Close(x, r.Floats["flat"]);
            Assert.Equal(new long[] { 2, 4 }, r.Shapes["flat"]);
            var ln = new float[8];
            float[] gamma = { 1f, 2f, 1f, 0.5f }, beta = { 0f, 1f, 0f, -1f };
            for (int b = 0; b < 2; b++)
            {
                var row = x.Skip(b * 4).Take(4).Select(v => (double)v).ToArray();
                double mean = row.Average(), variance = row.Select(v => (v - mean) * (v - mean)).Average();
                for (int j = 0; j < 4; j++)
                    ln[b * 4 + j] = (float)((row[j] - mean) / Math.Sqrt(variance + 1e-5) * gamma[j] + beta[j]);
            }
            Close(ln, r.Floats["ln"], 1e-4);
            Assert.Equal(Enumerable.Repeat(7f, 8).ToArray(), r.Floats["expand"]);
        }

        [Fact]
        public void NodesOfAnotherOperatorSetNeedItsImport()
        {
            var g = new OnnxGraphBuilder();
            g.AddInput("X", new long[] { -1, 3 });
            Assert.Throws<InvalidOperationException>(() => g.AddNodeInDomain("ai.onnx.ml", "Binarizer", new[] { "X" }, new[] { "B" }));
            g.ImportOpset("ai.onnx.ml", 3);
            g.AddNodeInDomain("ai.onnx.ml", "Binarizer", new[] { "X" }, new[] { "B" }, OnnxAttribute.Float("threshold", 0.5f));
            g.AddOutput("B", new long[] { -1, 3 });
            var r = OrtRunner.Run(g.ToBytes(), ("X", new[] { 0.2f, 0.5f, 0.9f, -1f, 3f, 0.51f }, new long[] { 2, 3 }));
            Assert.Equal(new[] { 0f, 0f, 1f, 0f, 1f, 1f }, r.Floats["B"]);
            Assert.Throws<ArgumentException>(() => g.ImportOpset("", 17));
        }
    }
}
