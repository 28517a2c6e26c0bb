using TrainManager.Data;
using TrainManager.Experiments;

namespace TrainManager.Training;

/// <summary>Opens the train and test splits an experiment's data section names.</summary>
public static class DataSources
{
    public static (IDataset Train, IDataset Test) Load(DataSection data)
    {
        switch (data.Dataset)
        {
            case "fashion-mnist":
            {
                var options = new FashionMnistOptions { Path = data.Path };
                return (Limit(FashionMnist.Load(FashionMnistSplit.Train, options), data.TrainLimit),
                        Limit(FashionMnist.Load(FashionMnistSplit.Test, options), data.TestLimit));
            }
            case "mnist-idx":
            {
                var dir = data.Path ?? throw new DatasetNotFoundException("Dataset 'mnist-idx' needs data.path: a folder with train-/t10k- images and labels IDX files.");
                return (Limit(LoadIdx(dir, "train"), data.TrainLimit), Limit(LoadIdx(dir, "t10k"), data.TestLimit));
            }
            default:
                throw new DatasetNotFoundException($"Unknown dataset '{data.Dataset}'. Known: fashion-mnist, mnist-idx (IDX files in data.path).");
        }
    }

    private static IdxDataset LoadIdx(string dir, string prefix)
    {
        string Find(string kind) =>
            new[] { $"{prefix}-{kind}-idx{(kind == "images" ? 3 : 1)}-ubyte", $"{prefix}-{kind}-idx{(kind == "images" ? 3 : 1)}-ubyte.gz" }
                .Select(f => Path.Combine(dir, f)).FirstOrDefault(File.Exists)
            ?? throw new DatasetNotFoundException($"No {prefix} {kind} IDX file in '{dir}'. Set data.path to the folder holding them.");
        return IdxDataset.Load(Find("images"), Find("labels"), FashionMnist.Mean, FashionMnist.Std);
    }

    private static IDataset Limit(TensorDataset data, int limit)
    {
        if (limit <= 0 || limit >= data.Count) return data;
        // Views share the storage, which stays alive after the full tensors' handles are released.
        var limited = new TensorDataset(data.Inputs.narrow(0, 0, limit), data.Targets.narrow(0, 0, limit));
        data.Dispose();
        return limited;
    }
}
