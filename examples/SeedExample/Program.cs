using TrainManager.Stages;

new MyExtensible().MyExtensibleMethod();

public sealed class Announce : Extension
{
    public void PreStage(int varA) => Console.WriteLine("Before the stage");
    public void PostStage(int varA, int varB) => Console.WriteLine($"After the stage: {varA}, {varB}");
}

public sealed class MyExtensible : Extensible
{
    public MyExtensible() : base(new Announce()) { }

    public void MyExtensibleMethod()
    {
        using (Staged("stage", ("var_a", 1)))
            Fixtures["var_b"] = 2;
    }
}
