using System;
using System.Runtime.InteropServices;

namespace MLNetRank.Benchmarks.Gbdt
{
    /// <summary>
    /// The few LightGBM C API calls the benchmark needs (lib_lightgbm from the LightGBM NuGet package that
    /// Microsoft.ML.LightGbm brings): train a booster natively and predict leaf indices (C_API_PREDICT_LEAF_INDEX).
    /// </summary>
    internal sealed class NativeLightGbm : IDisposable
    {
        private const string Lib = "lib_lightgbm";
        private const int DtypeFloat32 = 0;
        private const int PredictLeafIndex = 2;

        [DllImport(Lib)] private static extern IntPtr LGBM_GetLastError();
        [DllImport(Lib)] private static extern unsafe int LGBM_DatasetCreateFromMat(float* data, int dataType, int nrow, int ncol, int isRowMajor,
            [MarshalAs(UnmanagedType.LPStr)] string parameters, IntPtr reference, out IntPtr dataset);
        [DllImport(Lib)] private static extern unsafe int LGBM_DatasetSetField(IntPtr dataset, [MarshalAs(UnmanagedType.LPStr)] string field, float* data, int n, int type);
        [DllImport(Lib)] private static extern int LGBM_DatasetFree(IntPtr dataset);
        [DllImport(Lib)] private static extern int LGBM_BoosterCreate(IntPtr dataset, [MarshalAs(UnmanagedType.LPStr)] string parameters, out IntPtr booster);
        [DllImport(Lib)] private static extern int LGBM_BoosterUpdateOneIter(IntPtr booster, out int finished);
        [DllImport(Lib)] private static extern int LGBM_BoosterFree(IntPtr booster);
        [DllImport(Lib)] private static extern unsafe int LGBM_BoosterPredictForMat(IntPtr booster, float* data, int dataType, int nrow, int ncol, int isRowMajor,
            int predictType, int startIteration, int numIteration, [MarshalAs(UnmanagedType.LPStr)] string parameters, out long outLen, double* result);

        private IntPtr _dataset, _booster;

        private static void Check(int rc)
        {
            if (rc != 0)
                throw new InvalidOperationException("LightGBM: " + Marshal.PtrToStringAnsi(LGBM_GetLastError()));
        }

        public unsafe NativeLightGbm(float[] x, bool[] y, int rows, int features, int trees, int leaves, int minLeaf, int threads)
        {
            string p = $"objective=binary num_leaves={leaves} learning_rate=0.1 min_data_in_leaf={minLeaf} num_threads={threads} verbose=-1 seed=1 deterministic=true";
            fixed (float* px = x)
                Check(LGBM_DatasetCreateFromMat(px, DtypeFloat32, rows, features, 1, p, IntPtr.Zero, out _dataset));
            var label = new float[rows];
            for (int i = 0; i < rows; i++)
                label[i] = y[i] ? 1f : 0f;
            fixed (float* pl = label)
                Check(LGBM_DatasetSetField(_dataset, "label", pl, rows, DtypeFloat32));
            Check(LGBM_BoosterCreate(_dataset, p, out _booster));
            for (int i = 0; i < trees; i++)
            {
                Check(LGBM_BoosterUpdateOneIter(_booster, out int finished));
                if (finished != 0)
                    break;
            }
        }

        /// <summary>Leaf index of every tree for <paramref name="rows"/> rows (row-major doubles, as LightGBM returns them).</summary>
        public unsafe long PredictLeaves(float[] x, int rows, int features, double[] result, int threads)
        {
            long len;
            fixed (float* px = x)
            fixed (double* pr = result)
                Check(LGBM_BoosterPredictForMat(_booster, px, DtypeFloat32, rows, features, 1, PredictLeafIndex, 0, -1, $"num_threads={threads}", out len, pr));
            return len;
        }

        public void Dispose()
        {
            if (_booster != IntPtr.Zero)
                LGBM_BoosterFree(_booster);
            if (_dataset != IntPtr.Zero)
                LGBM_DatasetFree(_dataset);
            _booster = _dataset = IntPtr.Zero;
        }
    }
}
