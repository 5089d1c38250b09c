using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Simulation.Data;

namespace MLNetRank.Simulation.Datasets
{
    /// <summary>
    /// Loader of UCI Census-Income (KDD) files (<c>census-income.data</c> / <c>census-income.test</c>, optionally gzipped):
    /// 42 comma-separated columns, no header. Exposes the two tasks of the MMoE paper (Ma et al., KDD 2018): income above
    /// 50K and marital status "Never married", with the numeric and categorical features as ML.NET columns.
    /// </summary>
    /// <remarks>
    /// Output schema: <c>Income</c> (Boolean: income &gt; 50K), <c>NeverMarried</c> (Boolean), <c>Weight</c> (Single, the census
    /// instance weight), the seven numeric columns <see cref="NumericColumns"/> as Single, <c>NumericFeatures</c> (Vector&lt;Single&gt;[7]
    /// with slot names), the 32 categorical columns <see cref="CategoricalColumns"/> as String (values trimmed; "?" kept as a value),
    /// <c>CategoricalFeatures</c> (Vector&lt;String&gt;[32] with slot names, ready for <c>OneHotEncoding</c>) and <c>MaritalStatus</c>
    /// (String; the source of the second label, so not among the features). Data: UCI ML repository, CC BY 4.0.
    /// </remarks>
    public static class CensusIncomeDataset
    {
        /// <summary>The 42 raw columns in file order (as named by the UCI description).</summary>
        public static IReadOnlyList<string> RawColumns { get; } = new[]
        {
            "age", "class_of_worker", "detailed_industry_recode", "detailed_occupation_recode", "education", "wage_per_hour",
            "enroll_in_edu_inst_last_wk", "marital_stat", "major_industry_code", "major_occupation_code", "race", "hispanic_origin",
            "sex", "member_of_a_labor_union", "reason_for_unemployment", "full_or_part_time_employment_stat", "capital_gains",
            "capital_losses", "dividends_from_stocks", "tax_filer_stat", "region_of_previous_residence", "state_of_previous_residence",
            "detailed_household_and_family_stat", "detailed_household_summary_in_household", "instance_weight",
            "migration_code_change_in_msa", "migration_code_change_in_reg", "migration_code_move_within_reg",
            "live_in_this_house_1_year_ago", "migration_prev_res_in_sunbelt", "num_persons_worked_for_employer",
            "family_members_under_18", "country_of_birth_father", "country_of_birth_mother", "country_of_birth_self", "citizenship",
            "own_business_or_self_employed", "fill_inc_questionnaire_for_veterans_admin", "veterans_benefits", "weeks_worked_in_year",
            "year", "income",
        };

        private static readonly (int index, string name)[] Numeric =
        {
            (0, "Age"), (5, "WagePerHour"), (16, "CapitalGains"), (17, "CapitalLosses"), (18, "StockDividends"),
            (30, "NumPersonsWorkedForEmployer"), (39, "WeeksWorkedInYear"),
        };

        private static readonly (int index, string name)[] Categorical =
        {
            (1, "ClassOfWorker"), (2, "IndustryCode"), (3, "OccupationCode"), (4, "Education"), (6, "EnrolledInEducation"),
            (8, "MajorIndustry"), (9, "MajorOccupation"), (10, "Race"), (11, "HispanicOrigin"), (12, "Sex"), (13, "UnionMember"),
            (14, "UnemploymentReason"), (15, "EmploymentStatus"), (19, "TaxFilerStatus"), (20, "PreviousRegion"), (21, "PreviousState"),
            (22, "HouseholdFamilyStatus"), (23, "HouseholdSummary"), (25, "MigrationMsa"), (26, "MigrationRegion"),
            (27, "MigrationWithinRegion"), (28, "SameHouseOneYearAgo"), (29, "MigrationSunbelt"), (31, "FamilyMembersUnder18"),
            (32, "CountryOfBirthFather"), (33, "CountryOfBirthMother"), (34, "CountryOfBirth"), (35, "Citizenship"),
            (36, "OwnBusinessOrSelfEmployed"), (37, "VeteransQuestionnaire"), (38, "VeteransBenefits"), (40, "Year"),
        };

        /// <summary>Names of the numeric output columns (also the slot names of <c>NumericFeatures</c>).</summary>
        public static IReadOnlyList<string> NumericColumns { get; } = Numeric.Select(c => c.name).ToArray();

        /// <summary>Names of the categorical output columns (also the slot names of <c>CategoricalFeatures</c>).</summary>
        public static IReadOnlyList<string> CategoricalColumns { get; } = Categorical.Select(c => c.name).ToArray();

        /// <summary>Loads a Census-Income file (plain or gzipped) into memory and returns it as an <see cref="IDataView"/>.</summary>
        /// <param name="mlContext">The ML.NET context (its log receives a summary line); may be null.</param>
        /// <param name="path">Path of <c>census-income.data</c>, <c>census-income.test</c> or their <c>.gz</c>.</param>
        /// <exception cref="System.IO.FileNotFoundException">The file does not exist (the message names the path).</exception>
        /// <exception cref="FormatException">A line does not have 42 columns, a numeric column is not a number, or a label is
        /// not recognized (the message names the file and the line).</exception>
        public static IDataView Load(MLContext? mlContext, string path)
        {
            TextParsing.RequireFile(path, "Census-Income");
            var income = new List<bool>();
            var never = new List<bool>();
            var weight = new List<float>();
            var numeric = new List<float>();
            var categorical = new List<ReadOnlyMemory<char>>();
            var marital = new List<ReadOnlyMemory<char>>();
            var intern = new Dictionary<string, ReadOnlyMemory<char>>();
            ReadOnlyMemory<char> Intern(string s)
            {
                if (!intern.TryGetValue(s, out var m))
                    intern[s] = m = s.AsMemory();
                return m;
            }
            long lineNo = 0;
            foreach (var raw in TextParsing.ReadLines(path))
            {
                lineNo++;
                if (raw.Trim().Length == 0)
                    continue;
                var f = raw.Split(',');
                if (f.Length != 42)
                    throw TextParsing.Error(path, lineNo, $"expected 42 comma-separated columns, found {f.Length}.");
                for (int i = 0; i < f.Length; i++)
                    f[i] = f[i].Trim();
                string label = f[41].TrimEnd('.').Trim();
                bool inc = label switch
                {
                    "50000+" => true,
                    "- 50000" or "-50000" => false,
                    _ => throw TextParsing.Error(path, lineNo, $"column 'income' has '{TextParsing.Trunc(f[41])}', expected '- 50000.' or '50000+.'."),
                };
                income.Add(inc);
                never.Add(f[7] == "Never married");
                marital.Add(Intern(f[7]));
                weight.Add(TextParsing.Float(path, lineNo, RawColumns[24], f[24]));
                foreach (var (index, _) in Numeric)
                    numeric.Add(TextParsing.Float(path, lineNo, RawColumns[index], f[index]));
                foreach (var (index, _) in Categorical)
                    categorical.Add(Intern(f[index]));
            }
            int n = income.Count;
            if (n == 0)
                throw TextParsing.Error(path, lineNo, "the file has no data rows.");
            var cols = new List<InMemoryDataView.Column>
            {
                InMemoryDataView.Scalar("Income", BooleanDataViewType.Instance, income.ToArray()),
                InMemoryDataView.Scalar("NeverMarried", BooleanDataViewType.Instance, never.ToArray()),
                InMemoryDataView.Scalar("Weight", NumberDataViewType.Single, weight.ToArray()),
            };
            var num = numeric.ToArray();
            for (int j = 0; j < Numeric.Length; j++)
            {
                var v = new float[n];
                for (int i = 0; i < n; i++)
                    v[i] = num[i * Numeric.Length + j];
                cols.Add(InMemoryDataView.Scalar(Numeric[j].name, NumberDataViewType.Single, v));
            }
            cols.Add(InMemoryDataView.Vector("NumericFeatures", NumberDataViewType.Single, Numeric.Length, num, NumericColumns));
            var cat = categorical.ToArray();
            for (int j = 0; j < Categorical.Length; j++)
            {
                var v = new ReadOnlyMemory<char>[n];
                for (int i = 0; i < n; i++)
                    v[i] = cat[i * Categorical.Length + j];
                cols.Add(InMemoryDataView.Scalar(Categorical[j].name, TextDataViewType.Instance, v));
            }
            cols.Add(InMemoryDataView.Vector("CategoricalFeatures", TextDataViewType.Instance, Categorical.Length, cat, CategoricalColumns));
            cols.Add(InMemoryDataView.Scalar("MaritalStatus", TextDataViewType.Instance, marital.ToArray()));
            SimulationLog.Info(mlContext, $"Census-Income: {n} rows from {path}; income > 50K {income.Count(b => b) / (double)n:P1}, never married {never.Count(b => b) / (double)n:P1}.");
            return new InMemoryDataView(n, cols);
        }
    }
}
