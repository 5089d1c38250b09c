using System;
using System.Collections.Generic;

namespace MLNetRank.Debiasing
{
    /// <summary>
    /// The estimators of <see cref="PositionPropensityEstimator"/> on in-memory arrays: click-through rate by position on
    /// randomized traffic, and the EM of Wang et al. (WSDM 2018) with a per-group or a logistic relevance model. Every method
    /// takes optional row weights (the bootstrap draws Poisson(1) weights) and returns the examination curve relative to
    /// position 1 (element 0 = 1).
    /// </summary>
    internal static class PropensityAlgorithms
    {
        /// <summary>Randomized-traffic estimate: θ_k / θ_1 = CTR_k / CTR_1, CTR_k = (clicks_k + α·prior_k) / (n_k + α).</summary>
        /// <returns>The curve, or null when position 1 has no click (weighted) or a bucket has no impression.</returns>
        public static double[]? Randomization(int[] bucket, bool[] click, float[]? weight, int k, double smoothing,
            PropensitySmoothingPrior prior = PropensitySmoothingPrior.OverallClickRate, double[]? priorCurve = null)
        {
            var n = new double[k];
            var c = new double[k];
            for (int i = 0; i < bucket.Length; i++)
            {
                double w = weight is null ? 1 : weight[i];
                n[bucket[i]] += w;
                if (click[i])
                    c[bucket[i]] += w;
            }
            return RatioCurve(n, c, smoothing, prior, priorCurve);
        }

        /// <summary>The CTR-ratio curve from weighted impression and click counts per bucket, each bucket's CTR shrunk by α
        /// pseudo-impressions towards the prior's click-through rate for that bucket.</summary>
        public static double[]? RatioCurve(double[] n, double[] c, double smoothing,
            PropensitySmoothingPrior prior = PropensitySmoothingPrior.OverallClickRate, double[]? priorCurve = null)
        {
            double nAll = 0, cAll = 0;
            for (int b = 0; b < n.Length; b++)
            {
                nAll += n[b];
                cAll += c[b];
            }
            if (nAll <= 0)
                return null;
            var priorCtr = new double[n.Length];
            if (smoothing > 0)
            {
                double[] shape = prior switch
                {
                    PropensitySmoothingPrior.PowerLaw => PowerLawShape(n, c),
                    PropensitySmoothingPrior.Curve => priorCurve!,
                    _ => Ones(n.Length),
                };
                // the prior's scale: the one that predicts the observed number of clicks
                double expected = 0;
                for (int b = 0; b < n.Length; b++)
                    expected += n[b] * shape[b];
                double scale = expected > 0 ? cAll / expected : 0;
                for (int b = 0; b < n.Length; b++)
                    priorCtr[b] = scale * shape[b];
            }
            var ctr = new double[n.Length];
            for (int b = 0; b < n.Length; b++)
            {
                if (n[b] + smoothing <= 0)
                    return null;
                ctr[b] = (c[b] + smoothing * priorCtr[b]) / (n[b] + smoothing);
            }
            if (!(ctr[0] > 0))
                return null;
            var curve = new double[n.Length];
            for (int b = 0; b < n.Length; b++)
                curve[b] = ctr[b] / ctr[0];
            return curve;
        }

        private static double[] Ones(int k)
        {
            var v = new double[k];
            Array.Fill(v, 1.0);
            return v;
        }

        /// <summary>
        /// The power law p^-η (bucket b at position b + 1) that fits the counts best: clicks_b ~ Poisson(a · n_b · (b+1)^-η),
        /// the scale a in closed form for each η and η by a grid on [0, 5] refined to 0.001.
        /// </summary>
        public static double[] PowerLawShape(double[] n, double[] c)
        {
            int k = n.Length;
            double LogLik(double eta)
            {
                double expected = 0, cAll = 0, s = 0;
                for (int b = 0; b < k; b++)
                {
                    double x = Math.Pow(b + 1, -eta);
                    expected += n[b] * x;
                    cAll += c[b];
                    s += c[b] * Math.Log(x);
                }
                if (cAll <= 0 || expected <= 0)
                    return 0;
                double a = cAll / expected;
                return s + cAll * Math.Log(a) - a * expected;
            }
            double best = 0, bestLl = double.NegativeInfinity;
            for (double step = 0.1, lo = 0, hi = 5; step >= 0.001; step /= 10)
            {
                for (double eta = lo; eta <= hi + 1e-12; eta += step)
                {
                    double ll = LogLik(eta);
                    if (ll > bestLl)
                    {
                        bestLl = ll;
                        best = eta;
                    }
                }
                lo = Math.Max(0, best - step);
                hi = best + step;
            }
            var shape = new double[k];
            for (int b = 0; b < k; b++)
                shape[b] = Math.Pow(b + 1, -best);
            return shape;
        }

        /// <summary>Result of one EM run.</summary>
        public sealed class EmResult
        {
            public double[] Curve = Array.Empty<double>();
            public double[] Examination = Array.Empty<double>();
            public int Iterations;
            public bool Converged;
            public double LogLikelihood;
        }

        /// <summary>
        /// EM over click = examination × relevance. With <paramref name="group"/> the relevance is one parameter per group id
        /// (Wang et al., section 4.1); with <paramref name="features"/> it is a logistic regression on the (standardized) features,
        /// refitted by one Newton step per M-step (a generalized EM, the regression EM of their section 4.2 with a logistic
        /// model instead of GBDT).
        /// </summary>
        public static EmResult Em(int[] bucket, bool[] click, float[]? weight, int k,
            int[]? group, int groupCount, float[]? features, int dim, int maxIterations, double tolerance, double l2,
            Action<int, double>? onIteration = null, Action<double[], float[]?, double[]>? fitRelevance = null)
        {
            int n = bucket.Length;
            // initial examination: the naive CTR ratio, shrunk into (0, 1)
            var nb = new double[k];
            var cb = new double[k];
            double nAll = 0, cAll = 0;
            for (int i = 0; i < n; i++)
            {
                double w = weight is null ? 1 : weight[i];
                nb[bucket[i]] += w;
                nAll += w;
                if (click[i])
                {
                    cb[bucket[i]] += w;
                    cAll += w;
                }
            }
            double ctr = nAll > 0 ? cAll / nAll : 0;
            var theta = new double[k];
            double ctr1 = nb[0] > 0 ? (cb[0] + ctr) / (nb[0] + 1) : ctr;
            for (int b = 0; b < k; b++)
            {
                double r = nb[b] > 0 && ctr1 > 0 ? ((cb[b] + ctr) / (nb[b] + 1)) / ctr1 : 0.5;
                theta[b] = Math.Clamp(0.9 * r, 0.01, 0.95);
            }
            double gamma0 = Math.Clamp(ctr / 0.5, 0.01, 0.9);

            double[]? gammaG = null;
            double[]? beta = null; // logistic coefficients: dim + 1 (intercept last)
            var relevance = new double[n];
            if (fitRelevance is not null)
                Array.Fill(relevance, gamma0);
            if (group is not null)
            {
                gammaG = new double[groupCount];
                Array.Fill(gammaG, gamma0);
            }
            else
            {
                beta = new double[dim + 1];
                beta[dim] = Math.Log(gamma0 / (1 - gamma0));
            }

            var target = new double[n];
            var thetaNum = new double[k];
            var thetaDen = new double[k];
            double[]? gNum = group is null ? null : new double[groupCount];
            double[]? gDen = group is null ? null : new double[groupCount];
            var result = new EmResult();
            int it = 0;
            bool converged = false;
            double ll = 0;
            for (; it < maxIterations && !converged; it++)
            {
                // current relevance per row
                if (gammaG is not null)
                {
                    for (int i = 0; i < n; i++)
                        relevance[i] = gammaG[group![i]];
                }
                else if (fitRelevance is null)
                {
                    for (int i = 0; i < n; i++)
                        relevance[i] = Sigmoid(Dot(beta!, features!, i, dim));
                }

                // E-step and the examination M-step
                Array.Clear(thetaNum);
                Array.Clear(thetaDen);
                if (gNum is not null)
                {
                    Array.Clear(gNum);
                    Array.Clear(gDen!);
                }
                ll = 0;
                for (int i = 0; i < n; i++)
                {
                    double w = weight is null ? 1 : weight[i];
                    if (w == 0)
                        continue;
                    int b = bucket[i];
                    double th = theta[b], g = Math.Clamp(relevance[i], 1e-9, 1 - 1e-9);
                    double pe, pr;
                    if (click[i])
                    {
                        pe = 1;
                        pr = 1;
                        ll += w * Math.Log(th * g);
                    }
                    else
                    {
                        double denom = 1 - th * g;
                        pe = th * (1 - g) / denom;
                        pr = (1 - th) * g / denom;
                        ll += w * Math.Log(denom);
                    }
                    thetaNum[b] += w * pe;
                    thetaDen[b] += w;
                    target[i] = pr;
                    if (gNum is not null)
                    {
                        gNum[group![i]] += w * pr;
                        gDen![group[i]] += w;
                    }
                }
                double change = 0;
                for (int b = 0; b < k; b++)
                {
                    double t = thetaDen[b] > 0 ? Math.Clamp(thetaNum[b] / thetaDen[b], 1e-6, 1) : theta[b];
                    change = Math.Max(change, Math.Abs(t - theta[b]));
                    theta[b] = t;
                }
                // relevance M-step
                if (gammaG is not null)
                {
                    for (int g = 0; g < groupCount; g++)
                    {
                        if (gDen![g] > 0)
                        {
                            double v = Math.Clamp(gNum![g] / gDen[g], 1e-6, 1 - 1e-6);
                            change = Math.Max(change, Math.Abs(v - gammaG[g]));
                            gammaG[g] = v;
                        }
                    }
                }
                else if (fitRelevance is not null)
                {
                    // a regression model refitted on the soft targets (Wang et al.'s regression EM); convergence is judged on θ
                    fitRelevance(target, weight, relevance);
                }
                else
                {
                    double step = NewtonStep(beta!, features!, dim, target, weight, l2, n);
                    change = Math.Max(change, step);
                }
                onIteration?.Invoke(it + 1, ll);
                converged = change < tolerance;
            }
            result.Iterations = it;
            result.Converged = converged;
            result.LogLikelihood = ll;
            result.Examination = theta;
            result.Curve = new double[k];
            for (int b = 0; b < k; b++)
                result.Curve[b] = theta[b] / theta[0];
            return result;
        }

        private static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));

        private static double Dot(double[] beta, float[] x, int i, int dim)
        {
            double s = beta[dim];
            int o = i * dim;
            for (int j = 0; j < dim; j++)
                s += beta[j] * x[o + j];
            return s;
        }

        /// <summary>One Newton step of weighted logistic regression on soft targets with an L2 penalty (not on the intercept).
        /// Returns the largest change of a predicted probability proxy (the step's max coefficient change).</summary>
        private static double NewtonStep(double[] beta, float[] x, int dim, double[] target, float[]? weight, double l2, int n)
        {
            int p = dim + 1;
            var grad = new double[p];
            var hess = new double[p * p];
            var xi = new double[p];
            double wTotal = 0;
            for (int i = 0; i < n; i++)
            {
                double w = weight is null ? 1 : weight[i];
                if (w == 0)
                    continue;
                wTotal += w;
                int o = i * dim;
                for (int j = 0; j < dim; j++)
                    xi[j] = x[o + j];
                xi[dim] = 1;
                double mu = Sigmoid(Dot(beta, x, i, dim));
                double r = w * (target[i] - mu);
                double h = w * Math.Max(mu * (1 - mu), 1e-9);
                for (int a = 0; a < p; a++)
                {
                    grad[a] += r * xi[a];
                    double ha = h * xi[a];
                    int row = a * p;
                    for (int b2 = 0; b2 <= a; b2++)
                        hess[row + b2] += ha * xi[b2];
                }
            }
            double lambda = l2 * Math.Max(wTotal, 1);
            for (int a = 0; a < p; a++)
            {
                for (int b2 = 0; b2 < a; b2++)
                    hess[b2 * p + a] = hess[a * p + b2];
                if (a < dim)
                {
                    grad[a] -= lambda * beta[a];
                    hess[a * p + a] += lambda;
                }
                hess[a * p + a] += 1e-9 * Math.Max(wTotal, 1);
            }
            var delta = SolveSpd(hess, grad, p);
            double max = 0;
            for (int a = 0; a < p; a++)
            {
                beta[a] += delta[a];
                max = Math.Max(max, Math.Abs(delta[a]));
            }
            return max;
        }

        /// <summary>Solves A x = b for a symmetric positive-definite A (Cholesky).</summary>
        private static double[] SolveSpd(double[] a, double[] b, int p)
        {
            var l = new double[p * p];
            for (int i = 0; i < p; i++)
            {
                for (int j = 0; j <= i; j++)
                {
                    double s = a[i * p + j];
                    for (int m = 0; m < j; m++)
                        s -= l[i * p + m] * l[j * p + m];
                    if (i == j)
                        l[i * p + i] = Math.Sqrt(Math.Max(s, 1e-12));
                    else
                        l[i * p + j] = s / l[j * p + j];
                }
            }
            var y = new double[p];
            for (int i = 0; i < p; i++)
            {
                double s = b[i];
                for (int m = 0; m < i; m++)
                    s -= l[i * p + m] * y[m];
                y[i] = s / l[i * p + i];
            }
            var x = new double[p];
            for (int i = p - 1; i >= 0; i--)
            {
                double s = y[i];
                for (int m = i + 1; m < p; m++)
                    s -= l[m * p + i] * x[m];
                x[i] = s / l[i * p + i];
            }
            return x;
        }

        /// <summary>Poisson(1) draw by inversion (bootstrap row weights).</summary>
        public static int Poisson1(Random rng)
        {
            double u = rng.NextDouble();
            double p = Math.Exp(-1), cum = p;
            int k = 0;
            while (u > cum && k < 20)
            {
                k++;
                p /= k;
                cum += p;
            }
            return k;
        }

        /// <summary>Percentile interval of <paramref name="values"/> at <paramref name="level"/> (linear interpolation).</summary>
        public static (double Lower, double Upper) Percentile(List<double> values, double level)
        {
            values.Sort();
            double lo = (1 - level) / 2, hi = 1 - lo;
            return (Quantile(values, lo), Quantile(values, hi));
        }

        private static double Quantile(List<double> sorted, double q)
        {
            if (sorted.Count == 0)
                return double.NaN;
            double pos = q * (sorted.Count - 1);
            int i = (int)Math.Floor(pos);
            int j = Math.Min(i + 1, sorted.Count - 1);
            double f = pos - i;
            return sorted[i] * (1 - f) + sorted[j] * f;
        }
    }
}
