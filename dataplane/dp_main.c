/* placeholder main until the pipeline lands */
int main(void) { return 0; }
