/* A static no-op program: the fork+exec+wait baseline of the tee.create benchmark. */
int main(void)
{
    return 0;
}
