using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime;

namespace MLNetRank.Tests.Onnx
{
    /// <summary>Runs ONNX bytes in ONNX Runtime for tests: named float/int64/bool inputs, all outputs back as arrays with shapes.</summary>
    internal static class OrtRunner
    {
        public sealed class Result
        {
            public Dictionary<string, float[]> Floats { get; } = new();
            public Dictionary<string, long[]> Longs { get; } = new();
            public Dictionary<string, bool[]> Bools { get; } = new();
            public Dictionary<string, long[]> Shapes { get; } = new();
        }

        public static Result Run(byte[] model, params (string Name, Array Data, long[] Shape)[] inputs)
        {
            using var options = new SessionOptions { IntraOpNumThreads = 1 };
            using var session = new InferenceSession(model, options);
            var values = new List<OrtValue>();
            try
            {
                foreach (var (_, data, shape) in inputs)
                {
                    values.Add(data switch
                    {
                        float[] f => OrtValue.CreateTensorValueFromMemory(f, shape),
                        long[] l => OrtValue.CreateTensorValueFromMemory(l, shape),
                        bool[] b => OrtValue.CreateTensorValueFromMemory(b, shape),
                        _ => throw new ArgumentException("unsupported input type " + data.GetType()),
                    });
                }
                var outputNames = session.OutputNames.ToArray();
                using var runOptions = new RunOptions();
                using var outputs = session.Run(runOptions, inputs.Select(i => i.Name).ToArray(), values, outputNames);
                var result = new Result();
                for (int i = 0; i < outputNames.Length; i++)
                {
                    var info = outputs[i].GetTensorTypeAndShape();
                    result.Shapes[outputNames[i]] = info.Shape;
                    switch (info.ElementDataType)
                    {
                        case Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float:
                            result.Floats[outputNames[i]] = outputs[i].GetTensorDataAsSpan<float>().ToArray();
                            break;
                        case Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64:
                            result.Longs[outputNames[i]] = outputs[i].GetTensorDataAsSpan<long>().ToArray();
                            break;
                        case Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Bool:
                            result.Bools[outputNames[i]] = outputs[i].GetTensorDataAsSpan<bool>().ToArray();
                            break;
                        default:
                            throw new InvalidOperationException("unexpected output type " + info.ElementDataType);
                    }
                }
                return result;
            }
            finally
            {
                foreach (var v in values)
                    v.Dispose();
            }
        }

        public static float[] Random(Random rng, int n, float scale = 1f)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++)
                a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
            return a;
        }

        /// <summary>y[b, o] = sum_i x[b, i] w[i, o] + bias[o], in double.</summary>
        public static float[] Dense(float[] x, int batch, int inF, float[] w, float[]? bias, int outF)
        {
            var y = new float[batch * outF];
            for (int b = 0; b < batch; b++)
                for (int o = 0; o < outF; o++)
                {
                    double s = bias?[o] ?? 0;
                    for (int i = 0; i < inF; i++)
                        s += (double)x[b * inF + i] * w[i * outF + o];
                    y[b * outF + o] = (float)s;
                }
            return y;
        }
    }
}
